"""config.example.toml is itself valid and documents every key the schemas know."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from connector.config import schema
from connector.config.load import load

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"
ENV = {"CONNECTOR_WMS_PASSWORD": "pw", "CONNECTOR_PUSH_TOKEN": "tok", "CONNECTOR_WEBHOOK_SECRET": "whsec_c2VjcmV0"}


def test_example_config_with_its_secrets_set_validates():
    loaded = load(EXAMPLE, environ=ENV)
    assert set(loaded.adapters) == {("sources", "wms"), ("declarations", "inbox"),
                                    ("sinks", "supervision"), ("sinks", "alerts")}


def test_example_config_without_its_secrets_names_each_missing_variable():
    with pytest.raises(Exception) as info:
        load(EXAMPLE, environ={})
    text = str(info.value)
    for var in ENV:
        assert var in text


def _documented_keys() -> set[str]:
    keys = set()
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^#?\s*([a-z_]+)\s*=", line):
            keys.add(m[1])
    return keys


def _fields(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


@pytest.mark.parametrize("section", [schema.ConnectorSection, schema.StoreSection, schema.CompareSection,
                                     schema.ScheduleSection, schema.DeliverySection, schema.LoggingSection])
def test_example_config_documents_every_core_key(section):
    assert _fields(section) <= _documented_keys()


def test_example_config_documents_every_adapter_key():
    loaded = load(EXAMPLE, environ=ENV)
    for cls, _settings in loaded.adapters.values():
        missing = _fields(cls.Config) - _documented_keys()
        assert not missing, f"{cls.__name__}: {missing}"


def test_example_config_has_a_comment_for_every_key():
    """Each key, or the run of keys it belongs to, has a comment above it or on its line."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if not re.match(r"^[a-z_]+\s*=", line) or "#" in line:
            continue
        j = i - 1
        while j >= 0 and re.match(r"^[a-z_]+\s*=", lines[j]):
            j -= 1
        assert lines[j].startswith("#"), f"line {i + 1} has no comment: {line}"
