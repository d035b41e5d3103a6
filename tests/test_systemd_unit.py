"""The shipped unit, systemd/connector.service: hardened (exposure <= 2.0), valid, and a notify service.

Offline checks only: PID 1 here is not systemd, so the unit cannot be started (RELIABILITY.md §B3).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "connector.service"
EXEC_START_BINARY = "/opt/connector/venv/bin/connector"
MAX_EXPOSURE = 2.0
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")

needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (Debian/Ubuntu package: systemd)"
)


def _analyze(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": "", "SYSTEMD_LOG_LEVEL": "info"}
    return subprocess.run(
        [SYSTEMD_ANALYZE, "--no-pager", *args], capture_output=True, text=True, env=env, timeout=60
    )


def _security(unit: Path) -> subprocess.CompletedProcess[str]:
    return _analyze("security", "--offline=true", f"--threshold={int(MAX_EXPOSURE * 10)}", str(unit))


def _exposure(output: str) -> float:
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", output)
    assert match, f"no 'Overall exposure level' line in:\n{output}"
    return float(match[1])


def _verify_copy(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    """`verify` a copy whose ExecStart binary is this interpreter, which exists; everything else unchanged."""
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace(EXEC_START_BINARY, sys.executable), encoding="utf-8")
    return _analyze("verify", str(copy))


def _directives(text: str) -> dict[str, list[str]]:
    """`Section.Key` -> every value, in order (unit files repeat keys, so configparser will not do)."""
    found: dict[str, list[str]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return found


@needs_systemd_analyze
def test_security_of_shipped_unit_passes_threshold_and_exposure_is_at_most_2():
    result = _security(UNIT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _exposure(result.stdout) <= MAX_EXPOSURE


@needs_systemd_analyze
def test_security_of_minimal_unit_fails_threshold(tmp_path):
    """The gate bites: a unit with no hardening is rejected by the same command."""
    minimal = tmp_path / "minimal.service"
    minimal.write_text(f"[Service]\nExecStart={sys.executable}\n", encoding="utf-8")
    result = _security(minimal)
    assert result.returncode != 0
    assert _exposure(result.stdout) > MAX_EXPOSURE


@needs_systemd_analyze
def test_verify_of_shipped_unit_with_existing_exec_start_is_clean(tmp_path):
    text = UNIT.read_text(encoding="utf-8")
    assert EXEC_START_BINARY in text
    result = _verify_copy(tmp_path, text)
    assert result.returncode == 0, result.stdout + result.stderr
    # verify exits 0 even for unknown keys and only prints a warning, so any output at all is a failure.
    assert result.stdout + result.stderr == ""


@needs_systemd_analyze
def test_verify_of_unit_with_unknown_directive_prints_warning(tmp_path):
    """The clean-output check above would catch a misspelt directive."""
    text = UNIT.read_text(encoding="utf-8").replace("[Install]", "ProtectSytem=strict\n\n[Install]")
    result = _verify_copy(tmp_path, text)
    assert "Unknown key 'ProtectSytem'" in result.stdout + result.stderr


def test_shipped_unit_is_a_notify_service_with_watchdog():
    unit = _directives(UNIT.read_text(encoding="utf-8"))
    assert unit["Service.Type"] == ["notify"]
    assert unit["Service.NotifyAccess"] == ["main"]
    (watchdog,) = unit["Service.WatchdogSec"]
    assert int(watchdog) > 0


def test_shipped_unit_runs_as_dynamic_user_with_state_directory():
    unit = _directives(UNIT.read_text(encoding="utf-8"))
    assert unit["Service.DynamicUser"] == ["yes"]
    assert unit["Service.StateDirectory"] == ["connector"]
    assert unit["Service.StateDirectoryMode"] == ["0700"]
    # The default store URL is relative, so the working directory decides where the SQLite file lands.
    assert unit["Service.WorkingDirectory"] == ["/var/lib/connector"]


def test_shipped_unit_does_not_restart_on_config_error_exit_78():
    unit = _directives(UNIT.read_text(encoding="utf-8"))
    assert unit["Service.Restart"] == ["on-failure"]
    assert unit["Service.RestartPreventExitStatus"] == ["78"]


def test_shipped_unit_exec_start_runs_daemon_with_etc_config():
    unit = _directives(UNIT.read_text(encoding="utf-8"))
    assert unit["Service.ExecStart"] == [f"{EXEC_START_BINARY} run --config /etc/connector/config.toml"]
