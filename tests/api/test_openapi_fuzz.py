"""Schemathesis against a live `simcrm serve`: generated requests for every operation of
/api/openapi.json never get a 5xx, and every answer matches its declared status and schema."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err

from engine.redis_endpoint import RedisEndpoint
from tests.api.conftest import SECRET

SIMCRM = Path(sys.executable).parent / "simcrm"
EXAMPLES_PER_OPERATION = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class Process:
    """A `simcrm` subcommand serving HTTP: started, its URL read from its first line, stopped."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [str(SIMCRM), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + 30
        line = ""
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            match = re.search(r"http://127\.0\.0\.1:\d+", line)
            if match:
                self.url = match.group(0)
                return
            if self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"simcrm {args[0]} did not start: {line!r}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture(scope="module")
def live_api(
    tmp_path_factory: pytest.TempPathFactory, redis_endpoint_for_tests: RedisEndpoint
) -> Iterator[dict[str, Any]]:
    """`simcrm serve` (with a `simcrm sandbox` as its HubSpot) on free ports, a boss's key."""
    folder = tmp_path_factory.mktemp("fuzz")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder}/fuzz.db",
        "REDIS_URL": redis_endpoint_for_tests.url,
        "TOKEN_ENC_SECRET": SECRET,
        "METRICS_PROM_ENABLED": "1",
        "LOG_LEVEL": "warning",
    }
    subprocess.run([str(SIMCRM), "migrate"], env=env, check=True, capture_output=True)
    created = subprocess.run(
        [str(SIMCRM), "users", "create", "--email", "fuzz@example.com", "--boss", "--json"],
        env=env,
        check=True,
        capture_output=True,
    )
    key = orjson.loads(created.stdout)["api_key"]
    sandbox = Process(["sandbox", "--port", "0"], env)
    env["HUBSPOT_BASE_URL"] = env["SIMCRM_SANDBOX_URL"] = sandbox.url
    server = Process(["serve", "--port", "0"], env)
    try:
        yield {"url": server.url, "key": key}
    finally:
        server.stop()
        sandbox.stop()


def test_every_operation_keeps_its_contract(live_api: dict[str, Any]) -> None:
    """For every operation, generated requests (as a boss; valid ones and ones that break the
    schema) never get a 5xx, and the status, the content type and the body match the
    operation's declared responses."""
    api_schema = schemathesis.openapi.from_url(f"{live_api['url']}/api/openapi.json")
    headers = {"Authorization": f"Bearer {live_api['key']}"}
    failures: list[str] = []
    operations = 0
    calls: list[int] = []
    for result in api_schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"the document has an invalid operation: {result.err()}")
            continue
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        @given(
            case=operation.as_strategy(GenerationMode.POSITIVE)
            | operation.as_strategy(GenerationMode.NEGATIVE)
        )
        def check(case: Any) -> None:
            response = case.call_and_validate(
                base_url=live_api["url"], headers=headers, checks=CHECKS
            )
            calls.append(response.status_code)

        try:
            check()
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert operations >= 20
    assert len(calls) >= operations * EXAMPLES_PER_OPERATION // 2
    assert sum(200 <= status < 300 for status in calls) > len(calls) // 10  # not all refusals
