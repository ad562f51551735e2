"""The HTTP API: where ``simcrm serve`` listens (``SIMCRM_API_HOST``, ``SIMCRM_API_PORT``), how many
processes compute its previews and plans (``SIMCRM_API_MODEL_WORKERS``), and the API the
``simcrm sim`` client talks to with which key (``SIMCRM_API_URL``, ``SIMCRM_API_KEY``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, SecretStr

from engine.settings import parsers
from engine.settings.section import Section, variable

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
DEFAULT_MODEL_WORKERS = 2


class ApiSettings(Section):
    host: str = variable("SIMCRM_API_HOST", default=DEFAULT_HOST)
    port: Annotated[int, parsers.between(1, 65535)] = variable(
        "SIMCRM_API_PORT", default=DEFAULT_PORT
    )
    model_workers: Annotated[int, parsers.between(1, 64)] = variable(
        "SIMCRM_API_MODEL_WORKERS", default=DEFAULT_MODEL_WORKERS
    )
    url: Annotated[str, BeforeValidator(parsers.url(("http", "https")))] = variable(
        "SIMCRM_API_URL", default=DEFAULT_URL
    )
    key: SecretStr | None = variable("SIMCRM_API_KEY")
