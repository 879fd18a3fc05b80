"""Fleet limits as data, the clock-skew rule, the settings that name them, and the protection keeper's
transitions (pure)."""

from __future__ import annotations

import asyncio

import pytest

from worker.fleet import Runner
from worker.fleet_limits import FleetLimits, holder_key, live_holders, parse_kind_limits, with_quota_defaults
from worker.leases import CLOCK_SKEW_SECONDS, free_for_others, holder_deadline
from worker.protection import ProtectionKeeper
from worker.settings import ConfigError, load_settings


def test_kind_limits_parse_and_name_the_bad_part():
    assert parse_kind_limits("RDS=30, Aurora=10,DynamoDB=20") == {"RDS": 30, "Aurora": 10, "DynamoDB": 20}
    assert parse_kind_limits("") == {}
    for bad in ("RDS", "RDS=0", "=3", "RDS=x"):
        with pytest.raises(ValueError, match="KIND=N"):
            parse_kind_limits(bad)


def test_counters_a_restore_takes():
    limits = FleetLimits(total=40, per_account=10, per_kind={"RDS": 30})
    assert [(c.pk, c.limit) for c in limits.counters("111/eu-west-1", "RDS")] == [
        ("fleet#total", 40),
        ("fleet#account#111/eu-west-1", 10),
        ("fleet#kind#RDS", 30),
    ]
    assert [c.pk for c in limits.counters("111/eu-west-1", "DynamoDB")] == [
        "fleet#total",
        "fleet#account#111/eu-west-1",
    ]
    assert not FleetLimits().enabled and FleetLimits().counters("a/b", "RDS") == []


def test_a_lease_is_free_for_others_only_past_the_skew_margin():
    assert not free_for_others(1000, 1000 + CLOCK_SKEW_SECONDS)
    assert free_for_others(1000, 1001 + CLOCK_SKEW_SECONDS)
    assert holder_deadline(50.0, 120) == 50.0 + 120 - CLOCK_SKEW_SECONDS
    assert live_holders({"a": 1000, "b": 900}, 1000 + CLOCK_SKEW_SECONDS) == {"a": 1000}


def test_holder_keys_are_short_and_distinct():
    arn = "arn:aws:backup:eu-west-1:111122223333:recovery-point:" + "x" * 80
    key = holder_key("host-12-abcdef", arn)
    assert key.startswith("host-12-abcdef/") and len(key) < 40
    assert key != holder_key("host-12-abcdef", arn + "y")


def test_quota_defaults_never_raise_a_hand_set_limit():
    limits = with_quota_defaults(FleetLimits(per_kind={"RDS": 5}), {"DBInstances": 40, "DBClusters": 40}, 45)
    assert limits.per_kind == {"RDS": 5, "Aurora": 1}


def test_settings_refuse_a_bad_kind_limit(tmp_path):
    policy = tmp_path / "p.toml"
    policy.write_text("")
    base = {"queue_url": "https://q", "results_bucket": "b", "ledger_table": "t", "policy_file": policy}
    with pytest.raises(ConfigError, match="BV_FLEET_MAX_RESTORES_PER_KIND"):
        load_settings(**base, fleet_max_restores_per_kind="RDS=many")
    settings = load_settings(**base, fleet_max_restores=8, fleet_max_restores_per_kind="RDS=6")
    assert settings.fleet_limits == FleetLimits(8, None, {"RDS": 6})


class Endpoint:
    def __init__(self) -> None:
        self.calls: list[tuple[bool, int]] = []

    async def set(self, enabled: bool, expires_in_minutes: int) -> None:
        self.calls.append((enabled, expires_in_minutes))


async def test_protection_is_written_only_on_a_change():
    busy = [False]
    endpoint = Endpoint()
    keeper = ProtectionKeeper(endpoint, lambda: busy[0], 60, log=_Quiet())
    await keeper.sync()
    busy[0] = True
    await keeper.sync()
    await keeper.sync()
    busy[0] = False
    await keeper.sync()
    await keeper.sync()
    assert endpoint.calls == [(True, 60), (False, 60)]


class _Quiet:
    def info(self, *_: object, **__: object) -> None:
        pass


class SlowLease:
    def held(self) -> bool:
        return False

    async def hold(self) -> bool:
        await asyncio.sleep(60)
        return True

    async def release(self) -> None:
        pass


async def test_a_runner_keeping_its_lease_stops_when_cancelled():
    # Shutdown cancels the periodic jobs; a keep() that swallowed the cancellation would hang the worker's exit.
    task = asyncio.create_task(Runner(SlowLease(), _Quiet()).keep())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)
