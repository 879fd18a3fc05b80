import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.errors import MalformedMessage
from worker.events import Irrelevant, RecoveryPointReady, parse_body, vault_name_from_arn
from worker.model import RestoreJob, account_of

EVENTS = Path(__file__).parent.parent / "fixtures" / "events"


def load(name: str) -> str:
    return (EVENTS / name).read_text()


def test_copy_job_completed_gives_destination_recovery_point_and_vault():
    event = parse_body(load("copy_job_completed.json"))
    assert isinstance(event, RecoveryPointReady)
    assert event.recovery_point_arn.endswith("copyjob-a8f5b9c5-4e2f-4b9a-8c3d-2e1f0a9b8c7d")
    assert event.vault_name == "central"
    assert event.origin == "copy"
    assert event.source_resource_arn == "arn:aws:rds:us-east-1:111111111111:db:orders-prod-1"


def test_envelope_without_account_as_moto_delivers_it_parses_the_same():
    assert parse_body(load("copy_job_completed_no_account.json")) == parse_body(load("copy_job_completed.json"))


def test_failed_copy_is_irrelevant_not_an_error():
    event = parse_body(load("copy_job_failed.json"))
    assert isinstance(event, Irrelevant)
    assert "FAILED" in event.reason


def test_backup_job_completed_takes_recovery_point_from_resources():
    event = parse_body(load("backup_job_completed.json"))
    assert isinstance(event, RecoveryPointReady)
    assert event.recovery_point_arn == json.loads(load("backup_job_completed.json"))["resources"][0]
    assert event.vault_name == "central"
    assert event.origin == "backup"


def test_restore_job_event_reads_status_not_state():
    event = parse_body(load("restore_job_completed.json"))
    assert event == RestoreJob(
        "9C4E3B2A-1D0F-4E5A-8B7C-6D5E4F3A2B1C",
        "COMPLETED",
        "arn:aws:rds:us-east-1:123456789012:db:bv-0f1e2d3c4b5a69788796",
        created_at=datetime(2026, 11, 24, 2, 2, 3, 224000, tzinfo=UTC),
        completed_at=datetime(2026, 11, 24, 2, 31, 7, 980000, tzinfo=UTC),
    )


@pytest.mark.parametrize("value", ["yesterday", 1764000000, None, ""])
def test_restore_event_with_unreadable_dates_still_counts(value):
    """The dates only save a DescribeRestoreJob: an event without readable ones is still a status change."""
    document = json.loads(load("restore_job_completed.json"))
    document["detail"]["completionDate"] = value
    event = parse_body(json.dumps(document))
    assert isinstance(event, RestoreJob)
    assert event.status == "COMPLETED"
    assert event.completed_at is None
    assert event.created_at is not None


def test_restore_event_with_state_instead_of_status_is_read_the_same():
    document = json.loads(load("restore_job_completed.json"))
    document["detail"]["state"] = document["detail"].pop("status")
    assert parse_body(json.dumps(document)) == parse_body(load("restore_job_completed.json"))


def test_documented_created_state_event_is_irrelevant_not_malformed():
    event = parse_body(load("restore_job_created_state.json"))
    assert isinstance(event, Irrelevant)
    assert "CREATED" in event.reason


def test_documented_failed_state_event_is_a_terminal_status():
    event = parse_body(load("restore_job_failed_state.json"))
    assert isinstance(event, RestoreJob)
    assert (event.job_id, event.status) == ("7B2D4F6A-8C0E-4A1B-9D3F-5E7A9C1B3D5F", "FAILED")
    assert event.created_resource_arn is None


@pytest.mark.parametrize("state", ["PENDING", "RUNNING", "CREATED", "SOMETHING_NEW", "", None, 7, ["COMPLETED"]])
@pytest.mark.parametrize("field", ["status", "state", None])
def test_non_terminal_or_unknown_restore_state_is_irrelevant(field, state):
    document = json.loads(load("restore_job_completed.json"))
    del document["detail"]["status"]
    if field is not None:
        document["detail"][field] = state
    event = parse_body(json.dumps(document))
    assert isinstance(event, Irrelevant)
    assert event.reason.startswith("restore job state")


def test_on_demand_request():
    arn = "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-1"
    event = parse_body(json.dumps({"recoveryPointArn": arn, "backupVaultName": "central"}))
    assert event == RecoveryPointReady(arn, "central", "on_demand")


@pytest.mark.parametrize(
    "body, problem",
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"hello": 1}', "neither"),
        ('{"recoveryPointArn": 5}', "non-empty string"),
        ('{"recoveryPointArn": "not-an-arn"}', "not an ARN"),
        ('{"source": "aws.backup", "detail-type": "Copy Job State Change", "detail": []}', "detail"),
        ("x" * (300 * 1024), "256 KiB"),
    ],
)
def test_malformed_bodies_say_why(body, problem):
    with pytest.raises(MalformedMessage, match=problem):
        parse_body(body)


def test_other_sources_and_kinds_are_irrelevant():
    assert isinstance(parse_body(json.dumps({"source": "aws.ec2", "detail-type": "x", "detail": {}})), Irrelevant)
    vault_event = {"source": "aws.backup", "detail-type": "Backup Vault State Change", "detail": {}}
    assert isinstance(parse_body(json.dumps(vault_event)), Irrelevant)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)
)


@given(st.text(max_size=2000))
def test_any_text_either_parses_or_raises_malformed(body):
    # Any other exception would crash the receive loop's task: that is what this property guards.
    with contextlib.suppress(MalformedMessage):
        assert isinstance(parse_body(body), RecoveryPointReady | RestoreJob | Irrelevant)


@given(JSON_VALUES)
def test_any_json_either_parses_or_raises_malformed(document):
    with contextlib.suppress(MalformedMessage):
        assert isinstance(parse_body(json.dumps(document)), RecoveryPointReady | RestoreJob | Irrelevant)


def test_arn_helpers():
    assert vault_name_from_arn("arn:aws:backup:us-east-1:123456789012:backup-vault:central") == "central"
    assert vault_name_from_arn(None) is None
    assert account_of("arn:aws:rds:us-east-1:111111111111:db:orders") == "111111111111"
