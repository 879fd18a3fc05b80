"""The emulator's model-driven wire layer, checked against botocore's own serializers and parsers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.parsers import QueryParser, RestJSONParser
from botocore.serialize import QuerySerializer, RestJSONSerializer

from emulator.config import Knobs, parse_range
from emulator.faults import Faults
from emulator.pagination import page
from emulator.rest import Router, decode_request
from emulator.wire import ApiError, decode_query, json_body, json_error_body, service_model, xml_body, xml_error_body

BACKUP = service_model("backup")
RDS = service_model("rds")
POINT = "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-1f2e/x"


def serialized_backup(operation: str, params: dict) -> tuple[str, str, dict]:
    op = BACKUP.operation_model(operation)
    request = RestJSONSerializer().serialize_to_request(params, op)
    path = request["url_path"].partition("?")[0]
    return path, request["method"], {"query": request["query_string"], "body": request["body"], "op": op}


def test_the_router_finds_every_operation_botocore_sends():
    router = Router(BACKUP)
    cases = {
        "ListBackupVaults": {},
        "DescribeBackupVault": {"BackupVaultName": "central"},
        "DescribeRecoveryPoint": {"BackupVaultName": "central", "RecoveryPointArn": POINT},
        "GetRecoveryPointRestoreMetadata": {"BackupVaultName": "central", "RecoveryPointArn": POINT},
        "ListRecoveryPointsByResource": {"ResourceArn": "arn:aws:rds:us-east-1:1:db:orders"},
        "DescribeRestoreJob": {"RestoreJobId": "ABC"},
        "ListRestoreJobs": {"ByStatus": "RUNNING"},
        "PutRestoreValidationResult": {"RestoreJobId": "ABC", "ValidationStatus": "SUCCESSFUL"},
    }
    for operation, params in cases.items():
        path, method, _ = serialized_backup(operation, params)
        found = router.match(method, path)
        assert found is not None and found[0].name == operation, (operation, path)
    path, method, _ = serialized_backup("DescribeRecoveryPoint", cases["DescribeRecoveryPoint"])
    assert "%2F" in path  # botocore encodes the whole ARN into one path segment
    found = router.match(method, path)
    assert found is not None and found[1]["recoveryPointArn"] == POINT


def test_query_string_and_body_members_are_decoded_with_their_types():
    after = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    _, _, extra = serialized_backup("ListRestoreJobs", {"ByCreatedAfter": after, "MaxResults": 7})
    from urllib.parse import urlencode

    params = decode_request(extra["op"], {}, urlencode(extra["query"]), {}, b"")
    assert params == {"ByCreatedAfter": after, "MaxResults": 7}
    _, _, extra = serialized_backup(
        "StartRestoreJob", {"RecoveryPointArn": POINT, "Metadata": {"a": "b"}, "CopySourceTagsToRestoredResource": True}
    )
    params = decode_request(extra["op"], {}, "", {}, extra["body"])
    assert params == {"RecoveryPointArn": POINT, "Metadata": {"a": "b"}, "CopySourceTagsToRestoredResource": True}


def test_query_protocol_input_round_trips():
    op = RDS.operation_model("DescribeDBInstances")
    params = {"Filters": [{"Name": "db-instance-id", "Values": ["a", "arn:aws:rds:x"]}], "MaxRecords": 20}
    form = QuerySerializer().serialize_to_request(params, op)["body"]
    assert decode_query(op, form) == params
    op = RDS.operation_model("AddTagsToResource")
    params = {"ResourceName": "arn", "Tags": [{"Key": "k", "Value": "v"}, {"Key": "k2", "Value": ""}]}
    assert decode_query(op, QuerySerializer().serialize_to_request(params, op)["body"]) == params


def _http(body: bytes, status: int = 200, headers: dict | None = None) -> dict:
    return {"body": body, "status_code": status, "headers": headers or {}}


def test_xml_output_is_what_botocore_parses():
    op = RDS.operation_model("DescribeDBInstances")
    created = datetime(2026, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
    output = {
        "DBInstances": [
            {
                "DBInstanceIdentifier": "bv-1",
                "InstanceCreateTime": created,
                "MultiAZ": False,
                "Endpoint": {"Address": "127.0.0.1", "Port": 5432},
                "PendingModifiedValues": {"MasterUserPassword": "****"},
                "TagList": [{"Key": "a&b", "Value": "<x>"}],
            }
        ]
    }
    body = xml_body(op, output, RDS.metadata["xmlNamespace"], "req-1")
    parsed = QueryParser().parse(_http(body), op.output_shape)
    [inst] = parsed["DBInstances"]
    assert inst["InstanceCreateTime"] == created and inst["MultiAZ"] is False
    assert inst["Endpoint"]["Port"] == 5432 and inst["TagList"] == [{"Key": "a&b", "Value": "<x>"}]
    assert parsed["ResponseMetadata"]["RequestId"] == "req-1"

    error = xml_error_body(ApiError("DBInstanceNotFound", "DBInstance x not found.", 404), "ns", "req-2")
    parsed = QueryParser().parse(_http(error, 404), op.output_shape)
    assert parsed["Error"]["Code"] == "DBInstanceNotFound" and parsed["Error"]["Type"] == "Sender"


def test_json_output_and_errors_are_what_botocore_parses():
    op = BACKUP.operation_model("DescribeRestoreJob")
    created = datetime(2026, 5, 6, 7, 8, 9, 500000, tzinfo=UTC)
    body = json_body(op, {"RestoreJobId": "J", "CreationDate": created, "BackupSizeInBytes": 5, "Status": None})
    parsed = RestJSONParser().parse(_http(body), op.output_shape)
    assert parsed["CreationDate"] == created and parsed["BackupSizeInBytes"] == 5 and "Status" not in parsed
    with pytest.raises(KeyError):
        json_body(op, {"NotAField": 1})
    err = ApiError("ResourceNotFoundException", "nope")
    parsed = RestJSONParser().parse(
        _http(json_error_body(err), 400, {"x-amzn-errortype": "ResourceNotFoundException"}), op.output_shape
    )
    assert parsed["Error"] == {"Code": "ResourceNotFoundException", "Message": "nope"}


def test_knobs_parse_ranges_and_reject_nonsense():
    assert parse_range(5) == (5.0, 5.0)
    assert parse_range("2:8") == (2.0, 8.0)
    assert parse_range([1, 3]) == (1.0, 3.0)
    for bad in ("3:1", "-1", "a:b", [1, 2, 3]):
        with pytest.raises(ValueError):
            parse_range(bad)
    knobs = Knobs()
    knobs.update({"restore_seconds": "1:2", "throttle_operations": "backup,rds:DescribeDBInstances"})
    assert knobs.restore_seconds == (1.0, 2.0)
    assert knobs.as_dict()["throttle_operations"] == ["backup", "rds:DescribeDBInstances"]
    with pytest.raises(ValueError, match="unknown knob"):
        knobs.update({"restore_sekonds": 1})
    with pytest.raises(ValueError):
        knobs.update({"restore_seconds": 1, "throttle_rate": 1.5})
    assert knobs.restore_seconds == (1.0, 2.0)  # nothing applied from a rejected update


def test_faults_are_deterministic_with_a_seed_and_targeted():
    a, b = Faults(Knobs(), 42), Faults(Knobs(), 42)
    assert [a.uuid() for _ in range(3)] == [b.uuid() for _ in range(3)]
    knobs = Knobs(throttle_rate=1.0, throttle_operations=frozenset({"backup:ListRestoreJobs", "rds"}))
    faults = Faults(knobs, 1)
    assert faults.throttle("backup", "ListRestoreJobs")
    assert faults.throttle("rds", "DescribeDBInstances")
    assert not faults.throttle("backup", "DescribeRestoreJob")


def test_pages_by_key_do_not_repeat_or_skip_when_items_move():
    items = list(range(1, 11))
    first, token = page(items, {"MaxResults": 4}, 1000, key=lambda i: i)
    assert first == [1, 2, 3, 4]
    items.remove(2)  # an item leaves the listing between calls
    second, token = page(items, {"MaxResults": 4, "NextToken": token}, 1000, key=lambda i: i)
    assert second == [5, 6, 7, 8]
    third, token = page(items, {"MaxResults": 4, "NextToken": token}, 1000, key=lambda i: i)
    assert (third, token) == ([9, 10], None)
    with pytest.raises(ApiError):
        page(items, {"NextToken": "garbage"}, 1000)
    with pytest.raises(ApiError):
        page(items, {"MaxResults": 0}, 1000)
