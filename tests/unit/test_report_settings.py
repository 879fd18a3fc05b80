"""The report's settings: only what reading records needs, with the same variable-naming errors as the worker's."""

from __future__ import annotations

import os

import pytest

from worker.settings import ConfigError, load_report_settings, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("BV_"):
            monkeypatch.delenv(name)


def test_a_bucket_is_enough(monkeypatch):
    monkeypatch.setenv("BV_RESULTS_BUCKET", "records")
    settings = load_report_settings()
    assert (settings.results_bucket, settings.results_prefix, settings.coverage_slo_hours) == (
        "records",
        "validations/",
        26.0,
    )
    assert settings.athena_workgroup is None and settings.policy_file is None


def test_errors_name_the_variables(monkeypatch, tmp_path):
    with pytest.raises(ConfigError, match="BV_RESULTS_BUCKET: is required but not set"):
        load_report_settings()
    monkeypatch.setenv("BV_RESULTS_BUCKET", "records")
    monkeypatch.setenv("BV_COVERAGE_SLO_HOURS", "-1")
    monkeypatch.setenv("BV_ATHENA_TABLE", "Bad-Name")
    with pytest.raises(ConfigError) as caught:
        load_report_settings()
    assert "BV_COVERAGE_SLO_HOURS" in str(caught.value) and "BV_ATHENA_TABLE" in str(caught.value)
    monkeypatch.delenv("BV_COVERAGE_SLO_HOURS")
    monkeypatch.delenv("BV_ATHENA_TABLE")
    monkeypatch.setenv("BV_ATHENA_WORKGROUP", "primary")
    with pytest.raises(ConfigError, match="BV_ATHENA_DATABASE: is required when BV_ATHENA_WORKGROUP is set"):
        load_report_settings()
    monkeypatch.delenv("BV_ATHENA_WORKGROUP")
    monkeypatch.setenv("BV_POLICY_FILE", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match=r"BV_POLICY_FILE: .* does not exist"):
        load_report_settings()


def test_the_worker_settings_still_name_every_missing_variable():
    with pytest.raises(ConfigError) as caught:
        load_settings()
    for name in ("BV_QUEUE_URL", "BV_RESULTS_BUCKET", "BV_LEDGER_TABLE", "BV_POLICY_FILE"):
        assert f"{name}: is required but not set" in str(caught.value)
