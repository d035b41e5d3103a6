"""Load the TOML file and validate it in two passes, collecting every error with its place.

Pass 1: the core schema (connector.config.schema). Pass 2: each adapter's own section schema, the
mapping files named by sources, and cross-field checks. Errors read
`config.toml: sources.wms.url: field required`; any error raises ConfigError (exit 78).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping as MappingT
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from connector import registry
from connector.config.errors import format_validation_error
from connector.config.schema import Config
from connector.errors import ConfigError
from connector.mapping_file import Mapping, load_mapping

CORE_KEYS = {"adapter", "mapping", "events"}


@dataclass
class Loaded:
    """A validated configuration: the core model plus each adapter's class and parsed section."""

    path: Path
    config: Config | None  # None only while loading fails
    adapters: dict[tuple[str, str], tuple[type, BaseModel]] = field(default_factory=dict)
    mappings: dict[str, Mapping] = field(default_factory=dict)

    def events_for(self, sink: str) -> list[str]:
        return list(self.config.sinks[sink].model_extra.get("events", ["*"]))


def load(path: str | Path, environ: MappingT[str, str] | None = None) -> Loaded:
    """Validate everything and report every problem at once, core and adapter sections alike."""
    path = Path(path)
    data = read_toml(path)
    context = {"environ": os.environ if environ is None else environ}
    problems: list[str] = []
    try:
        config = Config.model_validate(data, context=context)
    except ValidationError as exc:
        config, problems = None, format_validation_error(path.name, exc)
    loaded = Loaded(path, config)
    problems += _validate_adapters(loaded, data, context) + _load_mappings(loaded, data)
    if problems:
        raise ConfigError(problems)
    return loaded


def read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the configuration file: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: the file is not UTF-8 text"]) from None
    try:
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path.name}: TOML syntax error: {exc}"]) from None


GROUP_OF = {"sources": "connector.sources", "declarations": "connector.declarations", "sinks": "connector.sinks"}


def _validate_adapters(loaded: Loaded, data: dict, context: dict) -> list[str]:
    """Pass 2, on the raw sections, so it runs (and reports) even when pass 1 failed."""
    problems: list[str] = []
    for kind, group in GROUP_OF.items():
        for name, raw in _sections(data, kind):
            if isinstance(raw.get("adapter"), str):
                problems += _validate_one(loaded, (kind, name), group, raw, context)
    return problems


def _sections(data: dict, kind: str) -> list[tuple[str, dict]]:
    sections = data.get(kind)
    if not isinstance(sections, dict):
        return []
    return [(name, raw) for name, raw in sections.items() if isinstance(raw, dict)]


def _validate_one(loaded: Loaded, key: tuple[str, str], group: str, raw: dict, context: dict) -> list[str]:
    file_name = loaded.path.name
    alias = raw["adapter"]
    try:
        cls = registry.load(group, alias)
    except (LookupError, TypeError, ImportError) as exc:
        return [f"{file_name}: {key[0]}.{key[1]}.adapter: {exc}"]
    own = {k: v for k, v in raw.items() if k not in CORE_KEYS}
    try:
        settings = cls.Config.model_validate(own, context=context)
    except ValidationError as exc:
        return format_validation_error(file_name, exc, prefix=key)
    loaded.adapters[key] = (cls, _anchor_paths(settings, loaded.path.parent))
    return []


def _anchor_paths(settings: BaseModel, folder: Path) -> BaseModel:
    """Relative paths in a section are relative to the config file's folder, not the cwd."""
    update = {name: folder / value for name, value in settings if isinstance(value, Path) and not value.is_absolute()}
    return settings.model_copy(update=update) if update else settings


def _load_mappings(loaded: Loaded, data: dict) -> list[str]:
    problems: list[str] = []
    for name, raw in _sections(data, "sources"):
        if not isinstance(raw.get("mapping"), str):
            continue
        path = resolve_path(loaded, raw["mapping"])
        try:
            loaded.mappings[name] = load_mapping(path)
        except ConfigError as exc:
            problems += [f"{loaded.path.name}: sources.{name}.mapping: {p}" for p in exc.problems]
    return problems


def resolve_path(loaded: Loaded, value: str | Path) -> Path:
    """Paths in the config are relative to the config file's folder."""
    value = Path(value)
    return value if value.is_absolute() else loaded.path.parent / value
