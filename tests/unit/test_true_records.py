"""True records: RTO as the user feels it, a row-count baseline only PASSED runs move, no restore time for a
restore that failed (in-memory ports; the same paths run on the stand-ins in tests/integration)."""

from dataclasses import replace

from memory_ports import RP_ARN, MemoryKind, Store, world
from prometheus_client import CollectorRegistry

from worker.events import RecoveryPointReady
from worker.metrics import Metrics
from worker.reporting import Reporter

EVENT = RecoveryPointReady(RP_ARN, "central", "copy")
OTHER = RecoveryPointReady(RP_ARN + "-2", "central", "copy")


async def test_rto_runs_from_the_restore_request_to_the_data_usable_with_our_credentials():
    w = world()
    await w.flow.validate(EVENT, "m-1")
    record = w.publisher.published[0][1]
    # The in-memory job ran 12 minutes by AWS's clock; the flow itself took well under a second.
    assert record["restore_duration"] == 12.0
    assert record["rto_minutes"] is not None and 0 <= record["rto_minutes"] < 1


async def test_a_failed_run_does_not_move_the_row_count_baseline():
    store = Store()
    await world(store=store).flow.validate(EVENT, "m-1")
    source = next(iter(store.sources))
    baseline = dict(store.sources[source])
    failing = world(store=store, kind=MemoryKind(check_status="FAILED", rows=1))
    failing.backup.recovery_point = replace(failing.backup.recovery_point, arn=OTHER.recovery_point_arn)
    await failing.flow.validate(OTHER, "m-2")
    assert baseline["last_row_counts"] and store.sources[source] == baseline


class _Store:
    async def put_json(self, key, record):
        pass


class _Results:
    async def put_validation_result(self, job_id, status, message):
        pass


def _observed(registry: CollectorRegistry) -> float:
    return (
        registry.get_sample_value(
            "backup_validation_restore_duration_seconds_count", {"resource_type": "RDS", "engine": "postgres"}
        )
        or 0.0
    )


async def test_the_restore_duration_histogram_ignores_failed_restores():
    registry = CollectorRegistry()
    reporter = Reporter(_Store(), None, _Results(), Metrics(registry), log=None)
    base = {"resource_type": "RDS", "engine": "postgres", "restore_duration": 3.0, "checks": []}
    await reporter.publish("k1", {**base, "status": "RESTORE_FAILED"}, False)
    assert _observed(registry) == 0
    await reporter.publish("k2", {**base, "status": "PASSED"}, False)
    assert _observed(registry) == 1
