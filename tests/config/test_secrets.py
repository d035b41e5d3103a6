"""Secrets by reference only; a resolved secret never shows its text."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from connector.config.secrets import Secret, is_reference, resolve

VALUE = "s3cret-value"


class Holder(BaseModel):
    password: Secret


def validate(value, **context) -> Secret:
    return Holder.model_validate({"password": value}, context=context).password


def error_of(value, **context) -> str:
    with pytest.raises(ValidationError) as caught:
        validate(value, **context)
    [error] = caught.value.errors()
    return error["msg"]


@pytest.fixture
def creds(tmp_path: Path) -> Path:
    folder = tmp_path / "credentials"
    folder.mkdir()
    (folder / "store-pw").write_text(VALUE + "\n", encoding="utf-8")
    return folder


def test_resolve_environment_reference_returns_value():
    assert resolve("${STORE_PW}", {"STORE_PW": VALUE}, None) == VALUE


def test_resolve_unset_environment_variable_names_it():
    with pytest.raises(ValueError, match=r"^environment variable STORE_PW is not set$"):
        resolve("${STORE_PW}", {}, None)


def test_resolve_environment_variable_set_to_empty_returns_empty_text():
    assert resolve("${EMPTY}", {"EMPTY": ""}, None) == ""


def test_resolve_file_reference_strips_only_the_final_newline(tmp_path):
    (tmp_path / "pw").write_text("  two words \r\n", encoding="utf-8")
    assert resolve(f"file:{tmp_path / 'pw'}", {}, None) == "  two words "


def test_resolve_missing_file_says_which_file(tmp_path):
    with pytest.raises(ValueError, match=rf"^secret file {tmp_path / 'absent'} cannot be read: No such file"):
        resolve(f"file:{tmp_path / 'absent'}", {}, None)


def test_resolve_relative_file_path_is_not_a_reference():
    with pytest.raises(ValueError, match="a literal secret is not allowed"):
        resolve("file:pw.txt", {}, None)


def test_resolve_credential_reads_from_credentials_directory(creds):
    assert resolve("credential:store-pw", {}, str(creds)) == VALUE


def test_resolve_credential_without_directory_says_so():
    with pytest.raises(ValueError, match=r"credential store-pw: \$CREDENTIALS_DIRECTORY is not set"):
        resolve("credential:store-pw", {}, None)


def test_resolve_absent_credential_names_it_and_the_directory(creds):
    with pytest.raises(ValueError, match=rf"^credential other in {creds} cannot be read"):
        resolve("credential:other", {}, str(creds))


@pytest.mark.parametrize("reference", ["credential:../store-pw", "credential:a/b", "credential:"])
def test_resolve_credential_name_with_path_parts_is_refused(reference, creds):
    with pytest.raises(ValueError, match="a literal secret is not allowed"):
        resolve(reference, {}, str(creds))


@pytest.mark.parametrize("literal", ["hunter2", "$STORE_PW", "${STORE PW}", "env:STORE_PW", "${1X}"])
def test_resolve_literal_is_refused_with_help(literal):
    with pytest.raises(ValueError) as caught:
        resolve(literal, {"STORE_PW": VALUE, "1X": VALUE}, None)
    assert str(caught.value) == ("a literal secret is not allowed here; give a reference: ${ENV_VAR}, "
                                 "file:/absolute/path or credential:NAME")
    assert literal not in str(caught.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("${A_1}", True), ("file:/etc/pw", True), ("credential:x.y-z", True),
    ("file:pw", False), ("${}", False), ("plain", False), ("credential:a/b", False),
])
def test_is_reference_accepts_only_the_three_forms(text, expected):
    assert is_reference(text) is expected


def test_secret_str_and_repr_hide_the_value():
    secret = Secret(VALUE, "${STORE_PW}")
    assert str(secret) == "***"
    assert repr(secret) == "Secret('${STORE_PW}')"
    assert VALUE not in f"{secret} {secret!r} {[secret]} {({'pw': secret})}"
    assert secret.reveal() == VALUE


def test_secrets_with_equal_values_hash_equal():
    by_env, by_file = Secret(VALUE, "${STORE_PW}"), Secret(VALUE, "file:/run/pw")
    assert by_env == by_file
    assert hash(by_env) == hash(by_file)  # a == b must imply hash(a) == hash(b)
    assert len({by_env, by_file}) == 1


def test_validate_environment_reference_uses_context_environ(monkeypatch):
    monkeypatch.setenv("STORE_PW", "from-process")
    secret = validate(" ${STORE_PW} ", environ={"STORE_PW": VALUE})
    assert secret.reveal() == VALUE
    assert secret.reference == "${STORE_PW}"


def test_validate_credential_uses_context_credentials_dir(creds, monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    assert validate("credential:store-pw", credentials_dir=str(creds)).reveal() == VALUE


def test_validate_credential_falls_back_to_process_credentials_directory(creds, monkeypatch):
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert validate("credential:store-pw", environ={}).reveal() == VALUE


def test_validate_credential_uses_credentials_directory_of_context_environ(creds, monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    secret = validate("credential:store-pw", environ={"CREDENTIALS_DIRECTORY": str(creds)})
    assert secret.reveal() == VALUE


def test_validate_non_string_is_refused():
    assert error_of(12345, environ={}) == ("a secret must be a reference string; give a reference: ${ENV_VAR}, "
                                           "file:/absolute/path or credential:NAME")


def test_validate_literal_is_refused_and_error_does_not_carry_it():
    with pytest.raises(ValidationError) as caught:
        validate(VALUE, environ={})
    assert VALUE not in caught.value.errors()[0]["msg"]
    assert caught.value.errors()[0]["type"] == "secret_ref"


def test_validate_existing_secret_passes_through():
    secret = Secret(VALUE, "${X}")
    assert validate(secret, environ={}) is secret
