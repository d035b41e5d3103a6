"""Turn pydantic errors into lines a person can act on: `file: toml.path: message`."""

from __future__ import annotations

from pydantic import ValidationError


def toml_path(loc: tuple) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts) or "(top level)"


def lower_first(message: str) -> str:
    return message[:1].lower() + message[1:]


def format_validation_error(file_name: str, exc: ValidationError, prefix: tuple = ()) -> list[str]:
    lines = []
    for error in exc.errors():
        loc = prefix + tuple(p for p in error["loc"] if not _is_wrapper(p))
        message = lower_first(error["msg"].removeprefix("Value error, "))
        if error["type"] == "extra_forbidden":
            message = "unknown key (not in the schema; check the spelling)"
        lines.append(f"{file_name}: {toml_path(loc)}: {message}")
    return lines


def _is_wrapper(part) -> bool:
    """pydantic puts union/tagged-union branch names in loc; they are not TOML keys."""
    return isinstance(part, str) and part.startswith(("function-", "union[", "literal["))
