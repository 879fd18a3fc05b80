import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from worker.checks import CheckResult
from worker.emf import METRICS, NAMESPACE, emf_document
from worker.kinds.rds_metadata import build_metadata
from worker.model import Validation, idempotency_token, overall_status, restored_identifier, validation_id
from worker.policy import MAX_CHECKS, SqlCheck
from worker.policy_fields import MAX_NAME_LENGTH
from worker.record import MAX_RECORD_BYTES, MAX_TEXT_BYTES, build_record, clip, record_key

ARN = "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:copyjob-1"


def overrides(**kw):
    base = dict(
        db_instance_class="db.t4g.micro", db_subnet_group="bv-restores", vpc_security_group_ids=("sg-1",), parameters={}
    )
    base.update(kw)
    return SimpleNamespace(**base)


def test_identifier_is_a_valid_stable_rds_name():
    identifier = restored_identifier(ARN)
    assert identifier == restored_identifier(ARN)
    assert identifier.startswith("bv-") and len(identifier) <= 63
    assert identifier != restored_identifier(ARN + "2")
    # A forced run (a new generation) restores under a name of its own; generation 0 keeps the original name.
    assert restored_identifier(ARN, 0) == identifier
    assert len({identifier, restored_identifier(ARN, 1), restored_identifier(ARN, 2)}) == 3
    assert identifier.replace("-", "").isalnum()


def test_tokens_are_stable_and_distinct_per_recovery_point():
    assert idempotency_token(ARN) == idempotency_token(ARN)
    assert idempotency_token(ARN) != idempotency_token(ARN + "x")
    assert validation_id(ARN) == validation_id(ARN)


def test_metadata_forces_private_small_single_az_deletable():
    recorded = {
        "DBInstanceIdentifier": "orders-prod-1",
        "DBInstanceClass": "db.r6g.4xlarge",
        "MultiAZ": "true",
        "PubliclyAccessible": "true",
        "DeletionProtection": "true",
        "AvailabilityZone": "us-east-1a",
        "Engine": "postgres",
    }
    metadata = build_metadata(recorded, "bv-abc", overrides(parameters={"PubliclyAccessible": "true"}))
    assert metadata["DBInstanceIdentifier"] == "bv-abc"
    assert metadata["DBInstanceClass"] == "db.t4g.micro"
    assert metadata["MultiAZ"] == metadata["PubliclyAccessible"] == metadata["DeletionProtection"] == "false"
    assert "AvailabilityZone" not in metadata
    assert json.loads(metadata["VpcSecurityGroupIds"]) == ["sg-1"]
    assert metadata["DBSubnetGroupName"] == "bv-restores"
    assert metadata["Engine"] == "postgres"


def test_overall_status_prefers_failed_over_error():
    assert overall_status(["PASSED", "ERROR", "FAILED"]) == "FAILED"
    assert overall_status(["PASSED", "ERROR"]) == "ERROR"
    assert overall_status(["PASSED"]) == "PASSED"


def test_record_has_seed_fields_in_minutes_and_targets():
    start = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    validation = Validation(
        validation_id=validation_id(ARN),
        recovery_point_arn=ARN,
        restore_start_time=start,
        restore_end_time=start + timedelta(minutes=42, seconds=30),
        restore_requested_at=start - timedelta(seconds=30),
        usable_at=start + timedelta(minutes=44),
        data_gap_minutes=95.0,
        age_latest_db_tx=120.0,
        rpo_target=timedelta(minutes=80),
        rto_target=timedelta(hours=1),
        status="PASSED",
    )
    record = build_record(validation, start + timedelta(hours=1))
    assert record["restore_duration"] == 42.5
    assert record["restore_start_time"] == "2026-11-24T02:00:00Z"
    assert record["rpo_target_met"] is False
    assert record["rto_minutes"] == 44.5  # requested to usable with our credentials, not the job's own time
    assert record["rto_target_met"] is True
    key = record_key("validations/", record, start)
    assert key == f"validations/dt=2026-11-24/{validation.validation_id}.json"


def test_emf_document_declares_every_metric_it_carries():
    record = {
        "status": "FAILED",
        "restore_duration": 3.0,
        "data_gap_minutes": 5.0,
        "rpo_target_met": False,
        "cleanup_status": "FAILED",
        "resource_type": "RDS",
        "engine": "postgres",
    }
    document = emf_document(record, 1_700_000_000_000)
    declared = document["_aws"]["CloudWatchMetrics"][0]
    assert declared["Namespace"] == NAMESPACE
    for metric in declared["Metrics"]:
        assert metric["Name"] in METRICS
        assert metric["Name"] in document
    assert document["ValidationFailed"] == 1.0 and document["ValidationPassed"] == 0.0
    assert document["RpoTargetMissed"] == 1.0 and document["CleanupFailed"] == 1.0
    assert ["ResourceType", "Engine"] in declared["Dimensions"]


def _failed_restore(**overrides):
    start = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    values = {
        "validation_id": validation_id(ARN),
        "recovery_point_arn": ARN,
        "restore_start_time": start,
        "restore_end_time": start + timedelta(minutes=3),
        "rpo_target": timedelta(hours=1),
        "rto_target": timedelta(hours=1),
        "status": "RESTORE_FAILED",
        "reason": "restore job FAILED: DB Instance already exists",
    }
    return Validation(**{**values, **overrides})


def test_restore_failed_record_claims_no_rto_or_rpo_and_emf_no_duration():
    record = build_record(_failed_restore(), datetime(2026, 11, 24, 3, 0, tzinfo=UTC))
    assert record["restore_duration"] == 3.0  # the job did run (and fail) for three minutes
    assert record["rto_minutes"] is None
    assert record["rto_target_met"] is None and record["rpo_target_met"] is None
    assert record["data_gap_minutes"] is None
    document = emf_document(record, 1_700_000_000_000)
    declared = {m["Name"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert not declared & {"RestoreDurationMinutes", "DataGapMinutes", "AgeLatestDbTxMinutes"}
    assert document["RestoreFailed"] == 1.0 and "RtoTargetMissed" not in declared


def test_restore_that_never_finished_has_no_rto():
    record = build_record(_failed_restore(status="ERROR", restore_end_time=None), datetime.now(UTC))
    assert record["rto_minutes"] is None and record["rto_target_met"] is None


def test_completed_restore_without_freshness_check_has_rto_but_no_rpo_verdict():
    start = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    validation = _failed_restore(status="PASSED", restore_requested_at=start, usable_at=start + timedelta(minutes=4))
    record = build_record(validation, datetime.now(UTC))
    assert record["rto_minutes"] == 4.0 and record["rto_target_met"] is True
    assert record["data_gap_minutes"] is None and record["rpo_target_met"] is None


def test_a_restore_never_usable_with_our_credentials_has_no_rto():
    # The job completed (a restore_duration exists) but take-over never finished: nothing measured the RTO.
    record = build_record(_failed_restore(status="ERROR"), datetime.now(UTC))
    assert record["restore_duration"] == 3.0
    assert record["rto_minutes"] is None and record["rto_target_met"] is None
    assert record["data_gap_minutes"] is None and record["rpo_target_met"] is None


@pytest.mark.parametrize("text", ["x" * 5_000_000, "\x00" * 10_000, "é" * 100_000, "😀" * 50_000, "short"])
def test_clip_bounds_the_json_bytes_of_any_text(text):
    clipped = clip(text)
    assert len(json.dumps(clipped).encode("utf-8")) <= MAX_TEXT_BYTES
    assert clipped == text or (clipped.endswith("[truncated]") and text.startswith(clipped[:-12]))


def test_a_record_with_the_most_checks_of_the_largest_texts_fits_everywhere():
    huge = "\x01" * 1_000_000
    check = SqlCheck(name="n" * MAX_NAME_LENGTH, query="SELECT 1", expect=1)
    results = [CheckResult(check.name, "sql", "FAILED", huge, huge, huge, 1.0).to_record() for _ in range(MAX_CHECKS)]
    validation = _failed_restore(status="FAILED", reason=huge)
    validation.checks = results
    record = build_record(validation, datetime.now(UTC))
    assert len(json.dumps(record).encode("utf-8")) <= MAX_RECORD_BYTES
