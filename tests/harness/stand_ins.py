"""moto and the emulator, started in background threads on 127.0.0.1 with free ports."""

from __future__ import annotations

from typing import Any

from emulator.moto_server import MotoHandle, start_moto
from emulator.server import EmulatorConfig, EmulatorHandle, Knobs, run_in_thread
from harness.databases import MYSQL_URL, POSTGRES_URL

# Short enough for a fast suite, long enough that every state is observable.
TEST_KNOBS: dict[str, Any] = {
    "restore_seconds": (0.3, 0.3),
    "backup_seconds": (0.1, 0.1),
    "copy_seconds": (0.1, 0.1),
    "instance_available_seconds": 0.1,
    "password_apply_seconds": 0.3,
    # One emulator serves the whole session and the load tests restore a thousand instances at once; the quota
    # tests set their own (AWS's default, 40, is the emulator's default).
    "max_db_instances": 5000,
    # Plans run when a test says so; the schedule's own test turns schedules on for itself.
    "restore_testing_schedules": False,
}

# A second account on the emulators the tests start: requests signed with CENTRAL_KEY act as CENTRAL_ACCOUNT (the
# central account of the tests that copy from the harness's default account into another one).
CENTRAL_ACCOUNT = "210987654321"
CENTRAL_KEY = "AKIACENTRALACCOUNT01"

__all__ = ["CENTRAL_ACCOUNT", "CENTRAL_KEY", "TEST_KNOBS", "MotoHandle", "start_emulator", "start_moto"]


def start_emulator(events_url: str | None, *, seed: int | None = None, **overrides: Any) -> EmulatorHandle:
    """An emulator on both real servers. ``overrides`` are knobs or EmulatorConfig fields."""
    config_fields = set(EmulatorConfig.__dataclass_fields__) - {"knobs"}
    overrides = {"dynamodb_url": events_url, "accounts": {CENTRAL_KEY: CENTRAL_ACCOUNT}, **overrides}
    knob_values = {**TEST_KNOBS, **{k: v for k, v in overrides.items() if k not in config_fields}}
    knobs = Knobs()
    knobs.update(knob_values)
    config = EmulatorConfig(
        postgres_url=POSTGRES_URL,
        mysql_url=MYSQL_URL,
        events_url=events_url,
        seed=seed,
        knobs=knobs,
        **{k: v for k, v in overrides.items() if k in config_fields},
    )
    return run_in_thread(config)
