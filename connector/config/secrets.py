"""Secrets by reference only: `${ENV_VAR}`, `file:/abs/path`, `credential:NAME` (systemd LoadCredential).

A literal value in a secret field is refused. A resolved secret is wrapped in `Secret`, whose
repr and str are `***`, so it cannot leak through logs, f-strings or tracebacks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import GetCoreSchemaHandler, ValidationInfo
from pydantic_core import PydanticCustomError, core_schema

_ENV = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_CREDENTIAL = re.compile(r"^credential:([\w.-]+)$")
_FILE = re.compile(r"^file:(/.+)$")
HELP = "give a reference: ${ENV_VAR}, file:/absolute/path or credential:NAME"


class Secret:
    """A resolved secret value. Only `.reveal()` gives the text."""

    __slots__ = ("_value", "reference")

    def __init__(self, value: str, reference: str):
        self._value = value
        self.reference = reference

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.reference!r})"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler):
        return core_schema.with_info_plain_validator_function(_validate)


def is_reference(text: str) -> bool:
    return bool(_ENV.match(text) or _CREDENTIAL.match(text) or _FILE.match(text))


def resolve(reference: str, environ: Mapping[str, str], credentials_dir: str | None) -> str:
    """Resolve one reference, or raise ValueError saying where it looked."""
    if m := _ENV.match(reference):
        if m[1] not in environ:
            raise ValueError(f"environment variable {m[1]} is not set")
        return environ[m[1]]
    if m := _FILE.match(reference):
        return _read(Path(m[1]), f"secret file {m[1]}")
    if m := _CREDENTIAL.match(reference):
        if not credentials_dir:
            raise ValueError(f"credential {m[1]}: $CREDENTIALS_DIRECTORY is not set (not run by systemd?)")
        return _read(Path(credentials_dir) / m[1], f"credential {m[1]} in {credentials_dir}")
    raise ValueError(f"a literal secret is not allowed here; {HELP}")


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ValueError(f"{what} cannot be read: {exc.strerror}") from None


def _validate(value: Any, info: ValidationInfo) -> Secret:
    if isinstance(value, Secret):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("secret_type", "a secret must be a reference string; " + HELP)
    context = info.context or {}
    environ = context.get("environ", os.environ)
    creds = context.get("credentials_dir") or environ.get("CREDENTIALS_DIRECTORY") or os.environ.get(
        "CREDENTIALS_DIRECTORY")
    try:
        resolved = resolve(value.strip(), environ, creds)
        if not resolved:
            raise ValueError(f"{value.strip()} resolves to an empty value")
        return Secret(resolved, value.strip())
    except ValueError as exc:
        raise PydanticCustomError("secret_ref", str(exc)) from None
