"""What every section of the settings shares: fields named by environment variables, reading
from an environment-style mapping, and the one-line message of a bad value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import EnvSettingsSource
from pydantic_settings import SettingsError as PydanticSettingsError

from engine.settings.errors import SettingsError

# A variable whose name holds one of these has its value left out of error messages.
SECRET_WORDS = ("SECRET", "TOKEN", "PASS", "KEY")


def variable(*names: str, default: Any = None) -> Any:
    """A field read from the environment variable ``names[0]``, or when that is unset from the
    older spellings after it, in order; unset everywhere, ``default``."""
    return Field(default=default, validation_alias=AliasChoices(*names))


def names_of(info: FieldInfo) -> list[str]:
    """The environment variables a field reads, in priority order."""
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [alias] if isinstance(alias, str) else []


class Section(BaseModel):
    """One concern's settings, read from the environment variables its fields name.

    A section is frozen. Its defaults are those of the package whose options it holds, and where
    that package has a config object the section builds it. In Python the field names work as
    well as the variables' names (``QueueSettings(shards=2)``).
    """

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Every environment variable the section reads, mapped to the field it sets."""
        return {name: field for field, info in cls.model_fields.items() for name in names_of(info)}

    @classmethod
    def from_env(cls, environ: Mapping[str, object]) -> Self:
        """The section as ``environ`` sets it: upper-case variable names to strings (or to
        Python values of the fields' types); other names are ignored.

        Raises:
            SettingsError: one line naming the first bad variable (see :func:`problem`).
        """
        try:
            return cls.model_validate(dict(environ))
        except ValidationError as exc:
            raise SettingsError(problem(cls, exc, environ)) from None

    @classmethod
    def from_process(cls, environ: Mapping[str, str]) -> Self:
        """The section as the process environment sets it, read by pydantic-settings: names in
        any case, the newer spelling of a variable over its legacy one. A bad value is named as
        the user wrote it.

        Raises:
            SettingsError: one line naming the first bad variable (see :func:`problem`).
        """
        try:
            # EnvSettingsSource reads the fields of any pydantic model; its stubs ask for a
            # BaseSettings, whose habit of merging os.environ into every construction we avoid.
            found = EnvSettingsSource(cls, case_sensitive=False)()  # type: ignore[arg-type]
        except PydanticSettingsError as exc:  # a value it could not even read as text
            raise SettingsError(str(exc)) from None
        try:
            return cls.model_validate(found)
        except ValidationError as exc:
            raise SettingsError(problem(cls, exc, environ)) from None


def problem(section: type[Section], exc: ValidationError, environ: Mapping[str, object]) -> str:
    """``VARIABLE must be … (got '…')`` for the first error of ``exc``: the variable the user set
    (the newer name when both spellings are set), and the value only when it is not a secret."""
    error = exc.errors()[0]
    loc = str(error["loc"][0]) if error["loc"] else ""
    name = _variable_name(section, loc, environ)
    reason = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    if not reason.startswith("must"):
        reason = f"is invalid: {reason}"
    sensitive = any(word in name for word in SECRET_WORDS)
    given = "" if sensitive else f" (got {str(error.get('input'))!r})"
    return f"{name} {reason}{given}"


def _variable_name(section: type[Section], loc: str, environ: Mapping[str, object]) -> str:
    info = section.model_fields.get(section.variables().get(loc, loc))
    names = names_of(info) if info is not None else []
    given = {key.upper() for key in environ}
    return next((name for name in names if name in given), names[0] if names else loc.upper())
