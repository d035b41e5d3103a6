"""Loading config.toml: every problem in one ConfigError, each as `file: toml.path: message`."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.sources.sql import SqlSource, SqlSourceConfig
from connector.cli import main
from connector.config.load import load
from connector.errors import EX_CONFIG, ConfigError
from tests.support.wms import to_toml, write_mapping

SECRET = "hunter2-do-not-print"


def base(**overrides) -> dict:
    """A valid configuration (as data); `overrides` replace whole top-level sections."""
    data = {
        "connector": {"site": "zone-1"},
        "store": {"url": "sqlite:///state.db"},
        "sources": {"wms": {"adapter": "sql", "mapping": "items.toml", "url": "sqlite:///wms.db",
                            "timezone": "Asia/Shanghai", "encoding": "utf-8",
                            "query": "SELECT * FROM moves"}},
    }
    data.update(overrides)
    return data


def source(**fields) -> dict:
    section = dict(base()["sources"]["wms"])
    section.update(fields)
    return {k: v for k, v in section.items() if v is not None}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_mapping(tmp_path / "items.toml")
    return tmp_path


def write(folder: Path, data: dict | str, name: str = "config.toml") -> Path:
    path = folder / name
    path.write_text(data if isinstance(data, str) else to_toml(data), encoding="utf-8")
    return path


def problems(path: Path, environ: dict | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(path, environ={} if environ is None else environ)
    return caught.value.problems


def test_load_valid_config_builds_adapter_settings_and_mapping(folder):
    loaded = load(write(folder, base()), environ={})
    cls, settings = loaded.adapters[("sources", "wms")]
    assert cls is SqlSource
    assert isinstance(settings, SqlSourceConfig)
    assert settings.timezone == "Asia/Shanghai"
    assert loaded.mappings["wms"].version.startswith("test@")


def test_load_relative_mapping_path_resolves_from_config_folder(folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path.parent)
    loaded = load(write(folder, base()), environ={})
    assert loaded.mappings["wms"].path == folder / "items.toml"


def test_load_bad_source_sections_reports_every_error_at_its_path(folder):
    write_mapping(folder / "bad-items.toml", items=[{"sku": "A", "bws_no": "bad", "gds_seqno": 1, "gds_mtno": "M",
                                                    "gdecd": "8471300000", "dcl_unitcd": "007",
                                                    "lawf_unitcd": "007", "units": {"EA": 1}}])
    data = base(sources={
        "wms": source(url=None, mapping="bad-items.toml", colour="red", batch_size="many",
                      password=SECRET),
        "erp": source(adapter="sqll"),
    }, sinks={"push": {"adapter": "http_push", "url": "https://push.example/", "token": "${PUSH_TOKEN}"}})
    found = problems(write(folder, data))
    expected = [
        "config.toml: sources.wms.url: field required",
        "config.toml: sources.wms.colour: unknown key (not in the schema; check the spelling)",
        "config.toml: sources.wms.batch_size: input should be a valid integer, unable to parse string as an integer",
        "config.toml: sources.wms.password: a literal secret is not allowed here; give a reference: "
        "${ENV_VAR}, file:/absolute/path or credential:NAME",
        "config.toml: sources.erp.adapter: no adapter 'sqll' in connector.sources; did you mean 'sql'?",
        "config.toml: sinks.push.token: environment variable PUSH_TOKEN is not set",
        f"config.toml: sources.wms.mapping: {folder / 'bad-items.toml'}: items[0].bws_no: "
        "string should match pattern '^[A-Z][0-9A-Z]{11}$'",
    ]
    assert sorted(found) == sorted(expected)
    assert not any(SECRET in line for line in found)


def test_load_core_and_adapter_errors_together_reports_both(folder):
    data = base(connector={"site": "zone-1", "colour": "red"}, sources={"wms": source(url=None)})
    found = problems(write(folder, data))
    assert "config.toml: connector.colour: unknown key (not in the schema; check the spelling)" in found
    assert "config.toml: sources.wms.url: field required" in found


def test_load_unknown_core_key_is_reported_at_its_toml_path(folder):
    found = problems(write(folder, base(compare={"grace_hours": 3})))
    assert found == ["config.toml: compare.grace_hours: unknown key (not in the schema; check the spelling)"]


def test_load_wrong_type_in_core_section_is_reported_at_its_toml_path(folder):
    found = problems(write(folder, base(schedule={"sync_seconds": "often"})))
    assert found == ["config.toml: schedule.sync_seconds: input should be a valid integer, "
                     "unable to parse string as an integer"]


def test_load_missing_site_says_field_required(folder):
    assert problems(write(folder, base(connector={}))) == ["config.toml: connector.site: field required"]


def test_load_source_without_mapping_says_field_required(folder):
    found = problems(write(folder, base(sources={"wms": source(mapping=None)})))
    assert found == ["config.toml: sources.wms.mapping: field required"]


def test_load_unknown_adapter_suggests_the_close_name(folder):
    found = problems(write(folder, base(sources={"wms": source(adapter="sqls")})))
    assert found == ["config.toml: sources.wms.adapter: no adapter 'sqls' in connector.sources; did you mean 'sql'?"]


def test_load_unknown_adapter_without_close_name_lists_known_ones(folder):
    found = problems(write(folder, base(sources={"wms": source(adapter="odbc-magic")})))
    assert found == ["config.toml: sources.wms.adapter: no adapter 'odbc-magic' in connector.sources; known: sql"]


def test_load_literal_secret_in_store_password_is_refused_without_echo(folder):
    found = problems(write(folder, base(store={"url": "postgresql://conn@db/state", "password": SECRET})))
    assert found == ["config.toml: store.password: a literal secret is not allowed here; give a reference: "
                     "${ENV_VAR}, file:/absolute/path or credential:NAME"]


def test_load_unset_environment_variable_names_the_variable(folder):
    data = base(store={"url": "postgresql://conn@db/state", "password": "${STORE_PW}"})
    assert problems(write(folder, data)) == ["config.toml: store.password: environment variable STORE_PW is not set"]


def test_load_environment_reference_resolves_from_given_environ(folder):
    data = base(store={"url": "postgresql://conn@db/state", "password": "${STORE_PW}"})
    loaded = load(write(folder, data), environ={"STORE_PW": SECRET})
    assert loaded.config.store.password.reveal() == SECRET
    assert SECRET not in repr(loaded.config)


def test_load_file_and_credential_references_resolve(folder, tmp_path, monkeypatch):
    (tmp_path / "pw.txt").write_text("from-file\n", encoding="utf-8")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "push-token").write_text("from-credential", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    data = base(store={"url": "postgresql://conn@db/state", "password": f"file:{tmp_path / 'pw.txt'}"},
                sinks={"push": {"adapter": "http_push", "url": "https://push.example/",
                                "token": "credential:push-token"}})
    loaded = load(write(folder, data), environ={})
    assert loaded.config.store.password.reveal() == "from-file"
    assert loaded.adapters[("sinks", "push")][1].token.reveal() == "from-credential"


def test_load_credential_without_credentials_directory_says_where_it_looked(folder, monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    data = base(store={"url": "postgresql://conn@db/state", "password": "credential:store-pw"})
    assert problems(write(folder, data)) == [
        "config.toml: store.password: credential store-pw: $CREDENTIALS_DIRECTORY is not set (not run by systemd?)"]


def test_load_missing_secret_file_says_which_file(folder, tmp_path):
    data = base(store={"url": "postgresql://conn@db/state", "password": f"file:{tmp_path / 'absent'}"})
    assert problems(write(folder, data)) == [
        f"config.toml: store.password: secret file {tmp_path / 'absent'} cannot be read: No such file or directory"]


def test_load_source_url_with_embedded_password_is_refused_without_echo(folder):
    found = problems(write(folder, base(sources={"wms": source(url=f"mssql+pyodbc://wms:{SECRET}@host/db")})))
    assert found == ["config.toml: sources.wms.url: the URL holds a password; remove it and set "
                     "password = \"${ENV_VAR}\" instead"]


def test_load_query_that_is_not_a_single_select_is_refused(folder):
    found = problems(write(folder, base(sources={"wms": source(query="SELECT * FROM moves; DROP TABLE moves")})))
    assert found == ["config.toml: sources.wms.query: query must be a single SELECT (or WITH ... SELECT) statement"]


def test_load_unknown_source_time_zone_is_refused(folder):
    found = problems(write(folder, base(sources={"wms": source(timezone="China/Beijing")})))
    assert found == ["config.toml: sources.wms.timezone: unknown time zone 'China/Beijing' "
                     "(use an IANA name such as Asia/Shanghai)"]


def test_load_source_without_time_zone_is_refused(folder):
    found = problems(write(folder, base(sources={"wms": source(timezone=None)})))
    assert found == ["config.toml: sources.wms.timezone: field required"]


def test_load_toml_syntax_error_names_the_file(folder):
    found = problems(write(folder, "[connector]\nsite = \"zone-1\n"))
    assert len(found) == 1
    assert found[0].startswith("config.toml: TOML syntax error: ")
    assert "line 2" in found[0]


def test_load_missing_file_says_it_cannot_be_read(tmp_path):
    assert problems(tmp_path / "absent.toml") == [
        f"{tmp_path / 'absent.toml'}: cannot read the configuration file: No such file or directory"]


def test_load_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes("[connector]\nsite = \"一区\"\n".encode("gbk"))
    assert problems(path) == [f"{path}: the file is not UTF-8 text"]


def test_load_mapping_errors_are_reported_under_sources_mapping(folder):
    write_mapping(folder / "items.toml", items=[{"sku": "A", "bws_no": "T2345W000001", "gds_seqno": 1,
                                                "gds_mtno": "M", "gdecd": "8471300000", "dcl_unitcd": "007",
                                                "lawf_unitcd": "007", "units": {"EA": 0}}])
    found = problems(write(folder, base()))
    assert found == [f"config.toml: sources.wms.mapping: {folder / 'items.toml'}: items[0].units: "
                     "factor for unit 'EA' must be a positive number, got 0"]


def test_load_missing_mapping_file_is_reported_under_sources_mapping(folder):
    found = problems(write(folder, base(sources={"wms": source(mapping="absent.toml")})))
    assert len(found) == 1
    assert found[0].startswith(f"config.toml: sources.wms.mapping: {folder / 'absent.toml'}: ")
    assert "No such file" in found[0]


def test_main_config_validate_with_bad_config_exits_78_with_every_problem_on_stderr(folder, capsys, monkeypatch):
    monkeypatch.delenv("PUSH_TOKEN", raising=False)
    data = base(store={"url": "postgresql://conn@db/state", "password": SECRET},
                sources={"wms": source(url=f"postgresql://wms:{SECRET}@host/db", adapter="sq")},
                sinks={"push": {"adapter": "http_push", "url": "https://push.example/", "token": "${PUSH_TOKEN}"}})
    path = write(folder, data)
    assert main(["-c", str(path), "config", "validate"]) == EX_CONFIG == 78
    out, err = capsys.readouterr()
    assert out == ""
    assert ("config.toml: store.password: a literal secret is not allowed here; give a reference: "
            "${ENV_VAR}, file:/absolute/path or credential:NAME") in err.splitlines()
    assert SECRET not in out + err


def test_main_config_validate_with_bad_adapter_sections_exits_78_without_secret(folder, capsys, monkeypatch):
    monkeypatch.delenv("PUSH_TOKEN", raising=False)
    data = base(sources={"wms": source(url=f"postgresql://wms:{SECRET}@host/db", password=SECRET)},
                sinks={"push": {"adapter": "http_push", "url": "https://push.example/", "token": "${PUSH_TOKEN}"}})
    assert main(["-c", str(write(folder, data)), "config", "validate"]) == 78
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert "config.toml: sinks.push.token: environment variable PUSH_TOKEN is not set" in lines
    assert any(line.startswith("config.toml: sources.wms.url: the URL holds a password") for line in lines)
    assert any(line.startswith("config.toml: sources.wms.password: a literal secret is not allowed") for line in lines)
    assert SECRET not in out + err


def test_main_config_validate_with_resolved_secret_never_prints_it(folder, capsys, monkeypatch):
    monkeypatch.setenv("STORE_PW", SECRET)
    data = base(store={"url": "postgresql://conn@db/state", "password": "${STORE_PW}"})
    path = write(folder, data)
    assert main(["-c", str(path), "config", "validate"]) == 0
    out, err = capsys.readouterr()
    assert out == f"{path}: ok\n"
    assert SECRET not in out + err


def test_main_config_validate_with_syntax_error_exits_78(folder, capsys):
    path = write(folder, "[connector\n")
    assert main(["-c", str(path), "config", "validate"]) == 78
    assert capsys.readouterr().err.startswith("config.toml: TOML syntax error")
