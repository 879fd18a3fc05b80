"""DynamoDB tables: the table check kinds at policy load, the restore metadata, attribute values."""

from __future__ import annotations

import pytest

from standins.policies import table_policy
from worker.kinds.dynamodb import restore_metadata
from worker.policy import PolicyError, parse_policy
from worker.policy_table_checks import DEFAULT_READ_BUDGET, ItemCountCheck, PartiqlCheck
from worker.tables import from_wire, to_wire

TABLES = "arn:aws:dynamodb:*:*:table/orders-*"


def problem_of(text: str) -> str:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    return str(caught.value)


def with_check(check: str, resource_type: str = "DynamoDB") -> str:
    return f"""
[[selection]]
name = "t"
resource_type = "{resource_type}"
[[selection.check]]
{check}
"""


def test_the_example_table_policy_loads_with_every_kind_and_budget():
    selection = parse_policy(table_policy(TABLES)).selections[0]
    assert [check.kind for check in selection.checks] == ["item_count", "freshness", "items", "partiql", "table"]
    count = selection.checks[0]
    assert isinstance(count, ItemCountCheck) and count.read_budget == 100
    partiql = selection.checks[3]
    assert isinstance(partiql, PartiqlCheck) and partiql.read_budget == DEFAULT_READ_BUDGET


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        ('kind = "partiql"\nstatement = "DELETE FROM t"\nexpect_rows = 0', "only a single SELECT"),
        ('kind = "partiql"\nstatement = "SELECT a FROM t; DELETE FROM t"\nexpect_rows = 0', "only a single SELECT"),
        ('kind = "partiql"\nstatement = "UPDATE t SET a = 1"\nexpect_rows = 0', "only a single SELECT"),
        ('kind = "partiql"\nstatement = "SELECT a FROM t"', "exactly one of expect and expect_rows"),
        ('kind = "item_count"\nread_budget = 0', "greater than 0"),
        ('kind = "freshness"\nmax_age = "1h"', 'missing required key "query" (or "attribute"'),
        ('kind = "freshness"\nattribute = "a"\nquery = "SELECT 1"\nmax_age = "1h"', "not both"),
        ('kind = "freshness"\nattribute = "a"\nindex = "i"\nmax_age = "1h"', "index and partition_value go together"),
        ('kind = "table"', "give at least one expected setting"),
        ('kind = "table"\nbilling_mode = "FREE"', "billing_mode"),
        ('kind = "items"\nitems = []', "items"),
        ('kind = "row_count"\ntable = "events"', "reads SQL databases: its selection needs another resource_type"),
    ],
)
def test_bad_table_checks_are_refused_at_load(check, expected):
    assert expected in problem_of(with_check(check))


@pytest.mark.parametrize(
    "check",
    [
        'kind = "item_count"',
        'kind = "freshness"\nattribute = "updated_at"\nmax_age = "1h"',
        'kind = "table"\nsort_key = "sk"',
    ],
)
def test_table_checks_need_a_dynamodb_selection(check):
    assert 'needs resource_type = "DynamoDB"' in problem_of(with_check(check, "RDS"))


def test_plugins_fit_both_kinds():
    plugin = 'kind = "plugin"\nfunction = "json:dumps"'
    for resource_type in ("RDS", "DynamoDB"):
        assert parse_policy(with_check(plugin, resource_type)).selections[0].checks[0].kind == "plugin"


def test_restore_metadata_names_our_table_and_keeps_the_encryption():
    assert restore_metadata({"originalTableName": "orders", "encryptionType": "Default"}, "bv-1") == {
        "targetTableName": "bv-1",
        "encryptionType": "Default",
    }
    key = "arn:aws:kms:us-east-1:111111111111:key/abc"
    kms = restore_metadata({"originalTableName": "orders", "encryptionType": "KMS", "kmsMasterKeyArn": key}, "bv-2")
    assert kms == {"targetTableName": "bv-2", "encryptionType": "KMS", "kmsMasterKeyArn": key}
    # Recorded keys are read case-insensitively, as AWS Backup does; the source's name never passes through.
    assert "originalTableName" not in restore_metadata({"ORIGINALTABLENAME": "orders"}, "bv-3")


def test_attribute_values_round_trip():
    for value in ("paid", 42, 1.5, True):
        assert from_wire(to_wire(value)) == value
    assert to_wire(7) == {"N": "7"} and to_wire(False) == {"BOOL": False}
    assert from_wire({"N": "1700000000"}) == 1700000000
    assert from_wire({"N": "2.0"}) == 2.0
    assert from_wire({"NULL": True}) is None
