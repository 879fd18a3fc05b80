import re
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.durations import format_duration, parse_duration
from worker.policy import (
    FreshnessCheck,
    PluginCheck,
    PolicyError,
    RowCountCheck,
    SchemaCheck,
    SqlCheck,
    load_policy,
    parse_policy,
)

ROOT = Path(__file__).parent.parent.parent
EXAMPLE = ROOT / "examples" / "policy.toml"
DOCS = ROOT / "docs" / "policy.md"

# The policy from the design brief, verbatim: it must always be accepted.
BRIEF_POLICY = """\
[defaults]
db_instance_class = "db.t4g.micro"
[[selection]]
name = "orders"
resource_type = "RDS"
source_arn = "arn:aws:rds:*:*:db:orders-*"
min_interval = "0s"
rpo_target = "80m"
rto_target = "60m"
[[selection.check]]
kind = "freshness"
query = "SELECT max(created_at) FROM events"
max_age = "80m"
[[selection.check]]
kind = "row_count"
table = "events"
min = 1
[[selection.check]]
kind = "sql"
query = "SELECT count(*) FROM events WHERE amount < 0"
expect = 0
"""

ORDERS_ARN = "arn:aws:rds:eu-west-1:111111111111:db:orders-prod-1"


def test_the_brief_example_is_accepted_with_its_values():
    policy = parse_policy(BRIEF_POLICY, "policy.toml")
    orders = policy.match("RDS", ORDERS_ARN, "111111111111")
    assert orders is not None and orders.name == "orders"
    assert orders.min_interval == timedelta(0)
    assert (orders.rpo_target, orders.rto_target) == (timedelta(minutes=80), timedelta(minutes=60))
    freshness, row_count, sql = orders.checks
    assert isinstance(freshness, FreshnessCheck) and freshness.max_age == timedelta(minutes=80)
    assert isinstance(row_count, RowCountCheck) and (row_count.table, row_count.min) == ("events", 1)
    assert isinstance(sql, SqlCheck) and sql.expect == 0
    assert [check.name for check in orders.checks] == ["freshness", "row_count:events", "sql"]


def test_the_shipped_example_is_accepted():
    policy = load_policy(EXAMPLE)
    assert [selection.name for selection in policy.selections] == ["orders", "billing", "orders-tables"]
    assert any(isinstance(check, SchemaCheck) for check in policy.selections[0].checks)


def test_defaults_apply_and_selections_override_them():
    policy = parse_policy(
        """
        [defaults]
        db_subnet_group = "restores"
        vpc_security_group_ids = ["sg-1"]
        statement_timeout = "30s"
        database = "app"
        [[selection]]
        name = "a"
        source_arn = "arn:aws:rds:*:*:db:a-*"
        [[selection]]
        name = "b"
        statement_timeout = "2m"
        restore_timeout = "1h30m"
        database = "other"
        [selection.restore]
        db_instance_class = "db.r6g.large"
        vpc_security_group_ids = ["sg-2", "sg-3"]
        parameters = { Port = "5433" }
        """
    )
    a, b = policy.selections
    assert a.restore.db_instance_class == "db.t4g.micro"
    assert (a.restore.db_subnet_group, a.restore.vpc_security_group_ids) == ("restores", ("sg-1",))
    assert (a.statement_timeout, a.restore_timeout, a.database) == (timedelta(seconds=30), timedelta(hours=6), "app")
    assert (b.restore.db_instance_class, b.restore.vpc_security_group_ids) == ("db.r6g.large", ("sg-2", "sg-3"))
    assert b.restore.db_subnet_group == "restores"
    assert b.restore.parameters == {"Port": "5433"}
    assert (b.statement_timeout, b.restore_timeout, b.database) == (
        timedelta(minutes=2),
        timedelta(minutes=90),
        "other",
    )


def test_without_defaults_the_documented_defaults_apply():
    (selection,) = parse_policy('[[selection]]\nname = "all"\n').selections
    assert selection.restore.db_instance_class == "db.t4g.micro"
    assert selection.restore_timeout == timedelta(hours=6)
    assert selection.statement_timeout == timedelta(seconds=60)
    assert selection.min_interval == timedelta(0)
    assert selection.database is None and selection.rpo_target is None and selection.checks == ()


def test_every_check_kind_parses():
    (selection,) = parse_policy(
        """
        [[selection]]
        name = "all kinds"
        [[selection.check]]
        kind = "freshness"
        query = "SELECT max(ts) FROM t"
        max_age = "1h"
        max_gap = "15m"
        [[selection.check]]
        kind = "row_count"
        table = "sales.orders"
        min = 10
        max_drop = 0.1
        where = "status = 'paid'"
        [[selection.check]]
        kind = "sql"
        query = "SELECT avg(x) FROM t"
        expect_min = 0.5
        expect_max = 2
        [[selection.check]]
        kind = "schema"
        [selection.check.tables]
        orders = ["id", "total"]
        "sales.refunds" = []
        [[selection.check]]
        kind = "plugin"
        function = "json:loads"
        params = { threshold = 3, tables = ["a"] }
        """
    ).selections
    freshness, row_count, sql, schema, plugin = selection.checks
    assert isinstance(freshness, FreshnessCheck) and freshness.max_gap == timedelta(minutes=15)
    assert isinstance(row_count, RowCountCheck)
    assert (row_count.table, row_count.min, row_count.max_drop) == ("sales.orders", 10, 0.1)
    assert row_count.where == "status = 'paid'"
    assert isinstance(sql, SqlCheck) and (sql.expect, sql.expect_min, sql.expect_max) == (None, 0.5, 2)
    assert isinstance(schema, SchemaCheck) and schema.tables == {"orders": ("id", "total"), "sales.refunds": ()}
    assert isinstance(plugin, PluginCheck) and plugin.params == {"threshold": 3, "tables": ["a"]}
    assert plugin.callable.__name__ == "loads"


@pytest.mark.parametrize("expect", ["0", "true", "1.5", '"ok"'])
def test_sql_expect_keeps_its_type(expect):
    text = f'[[selection]]\nname = "s"\n[[selection.check]]\nkind = "sql"\nquery = "SELECT 1"\nexpect = {expect}\n'
    (check,) = parse_policy(text).selections[0].checks
    assert isinstance(check, SqlCheck)
    assert check.expect == {"0": 0, "true": True, "1.5": 1.5, '"ok"': "ok"}[expect]
    assert type(check.expect) is {"0": int, "true": bool, "1.5": float, '"ok"': str}[expect]


def test_unnamed_checks_get_unique_names_that_avoid_explicit_ones():
    checks = "".join(
        f'[[selection.check]]\nkind = "sql"\nquery = "SELECT 1"\nexpect = 1\n{extra}'
        for extra in ("", 'name = "sql-2"\n', "", "")
    )
    (selection,) = parse_policy(f'[[selection]]\nname = "s"\n{checks}').selections
    assert [check.name for check in selection.checks] == ["sql", "sql-2", "sql-3", "sql-4"]


# ---- errors point at the line ---------------------------------------------------------------------------


def brief_with(old: str, new: str) -> str:
    assert old in BRIEF_POLICY
    return BRIEF_POLICY.replace(old, new, 1)


def error_of(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "policy.toml")
    return caught.value


def test_a_bad_duration_names_file_line_selection_check_and_key():
    error = error_of(brief_with('max_age = "80m"', 'max_age = "80x"'))
    assert str(error) == (
        'policy.toml:13: selection "orders" check 1 (freshness): max_age: '
        'invalid duration "80x" (use e.g. 30s, 80m, 6h, 2d)'
    )
    assert (error.source, error.line) == ("policy.toml", 13)
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    ("old", "new", "line", "text"),
    [
        ("min = 1", "mni = 1", 17, 'check 2 (row_count): unknown key "mni" (did you mean "min"?)'),
        ('rto_target = "60m"', 'rto_targett = "60m"', 9, 'unknown key "rto_targett" (did you mean "rto_target"?)'),
        ('db_instance_class = "db.t4g.micro"', 'db_instance = "x"', 2, 'defaults: unknown key "db_instance"'),
        ('name = "orders"\n', "", 3, 'selection 1: missing required key "name"'),
        ('query = "SELECT max(created_at) FROM events"\n', "", 10, 'check 1 (freshness): missing required key "query"'),
        ('kind = "sql"', 'kind = "sqll"', 18, 'unknown check kind "sqll"'),
        ('kind = "sql"', 'king = "sql"', 18, 'check 3: missing "kind"'),
        ("expect = 0", "expect = [0]", 21, "expect must be a number, string or boolean"),
        ("expect = 0", "", 18, "give expect, or expect_min and/or expect_max"),
        ("expect = 0", "expect = 0\nexpect_max = 3", 18, "either expect or expect_min/expect_max"),
        ('min_interval = "0s"', "min_interval = 0", 7, "expected a duration string"),
        ('table = "events"', 'table = "events; DROP TABLE x"', 16, 'invalid table name "events; DROP TABLE x"'),
        ("min = 1", "min = -1", 17, "min: input should be greater than or equal to 0"),
        ('resource_type = "RDS"', 'resource_type = "RSD"', 5, 'unknown resource type "RSD"'),
        ('source_arn = "arn:aws:rds:*:*:db:orders-*"', 'source_arn = "orders-*"', 6, 'invalid glob "orders-*"'),
        ('source_arn = "arn:aws:rds:*:*:db:orders-*"', 'source_arn = "arn:aws:rds:[a-z"', 6, "unbalanced"),
        ('min_interval = "0s"', 'source_account = "12345"', 7, "invalid account id '12345'"),
        ('min_interval = "0s"', "source_account = [111111111111]", 7, "invalid account id 111111111111"),
        ('max_age = "80m"', 'max_age = "0s"', 13, "max_age: must be longer than 0s"),
        ('rpo_target = "80m"', "rpo_target = ", 8, "TOML syntax error: Invalid value (column 14)"),
        ('kind = "sql"', 'kind = "plugin"\nfunction = "no_such_module.checks:run"', 20, 'cannot import "no_such'),
        ('kind = "sql"', 'kind = "plugin"\nfunction = "json"', 20, 'invalid function "json"'),
    ],
)
def test_problems_are_reported_at_their_line(old, new, line, text):
    error = error_of(brief_with(old, new))
    assert error.line == line, str(error)
    assert text in error.problem, str(error)
    assert str(error).startswith(f"policy.toml:{line}: ")


def test_an_unimportable_plugin_fails_at_load_time_with_the_reason():
    error = error_of(brief_with('kind = "sql"', 'kind = "plugin"\nfunction = "json:no_such_function"'))
    assert "AttributeError" in error.problem and "json:no_such_function" in error.problem


def test_duplicate_selection_names_are_an_error_at_the_second_name():
    text = BRIEF_POLICY + '[[selection]]\nname = "orders"\nresource_type = "Aurora"\n'
    error = error_of(text)
    assert (error.line, error.problem) == (23, 'selection "orders": name: duplicate selection name "orders"')


def test_duplicate_explicit_check_names_are_an_error():
    check = '[[selection.check]]\nname = "same"\nkind = "sql"\nquery = "SELECT 1"\nexpect = 1\n'
    error = error_of(f'[[selection]]\nname = "s"\n{check}{check}')
    assert error.line == 9 and "duplicate check name" in error.problem


def test_a_catch_all_selection_before_others_is_an_error():
    error = error_of('[[selection]]\nname = "all"\n[[selection]]\nname = "never"\n')
    assert error.line == 1 and "can never match" in error.problem


def test_no_selection_is_an_error():
    error = error_of('[defaults]\nstatement_timeout = "30s"\n')
    assert error.line is None and "no [[selection]]" in error.problem


def test_every_problem_is_reported_not_just_the_first():
    error = error_of(brief_with('max_age = "80m"', 'max_age = "80x"').replace("min = 1", "mni = 1"))
    assert error.line == 13
    assert len(error.others) == 1 and error.others[0].startswith("policy.toml:17: ")
    assert str(error).count("\n") == 1


def test_keys_inside_multiline_strings_do_not_confuse_the_line_numbers():
    text = '''\
[[selection]]
name = "s"
[[selection.check]]
kind = "sql"
query = """
SELECT count(*)
  FROM t
 WHERE max_age = 'x'
"""
expect = 0
[[selection.check]]
kind = "freshness"
query = "SELECT 1"
max_age = "soon"
'''
    assert error_of(text).line == 14


def test_subtable_keys_are_located():
    text = '[[selection]]\nname = "s"\n[selection.restore]\ndb_instance_class = "x"\ncolor = "red"\n'
    error = error_of(text)
    assert error.line == 5 and 'selection "s": restore: unknown key "color"' in error.problem


def test_schema_tables_errors_point_at_the_table_line():
    text = '[[selection]]\nname = "s"\n[[selection.check]]\nkind = "schema"\n'
    text += '[selection.check.tables]\nok = []\n"bad-name" = []\n'
    error = error_of(text)
    assert error.line == 7 and 'invalid table name "bad-name"' in error.problem


def test_load_policy_reports_an_unreadable_file(tmp_path):
    missing = tmp_path / "absent.toml"
    with pytest.raises(PolicyError) as caught:
        load_policy(missing)
    assert caught.value.line is None and caught.value.source == str(missing)
    assert "cannot read" in caught.value.problem


def test_load_policy_uses_the_path_as_the_source(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text(brief_with("min = 1", "min = 1\nbogus = 2"))
    with pytest.raises(PolicyError, match=rf"^{path}:18: "):
        load_policy(path)


# ---- matching ---------------------------------------------------------------------------------------------

MATCHING = """
[[selection]]
name = "tagged"
resource_type = "RDS"
tags = { environment = "prod*", team = "payments" }
[[selection]]
name = "orders in 111"
resource_type = "rds"
source_arn = "arn:aws:rds:*:*:db:orders-*"
source_account = "111111111111"
[[selection]]
name = "orders anywhere"
source_arn = "arn:aws:rds:*:*:db:orders-*"
[[selection]]
name = "aurora"
resource_type = "Aurora"
source_account = ["222222222222", "333333333333"]
[[selection]]
name = "rest"
"""


@pytest.mark.parametrize(
    ("resource_type", "arn", "account", "tags", "expected"),
    [
        ("RDS", ORDERS_ARN, "111111111111", {"environment": "production", "team": "payments"}, "tagged"),
        ("RDS", ORDERS_ARN, "111111111111", {"environment": "production"}, "orders in 111"),  # tag absent
        ("RDS", ORDERS_ARN, "111111111111", {"environment": "dev", "team": "payments"}, "orders in 111"),
        ("RDS", ORDERS_ARN, "111111111111", None, "orders in 111"),  # tags unknown: tag conditions fail
        ("RDS", ORDERS_ARN, "999999999999", None, "orders anywhere"),
        ("RDS", ORDERS_ARN, None, None, "orders anywhere"),  # account unknown: account conditions fail
        ("Aurora", ORDERS_ARN, "111111111111", None, "orders anywhere"),  # resource type differs
        ("Aurora", "arn:aws:rds:us-east-1:222222222222:cluster:billing", "222222222222", None, "aurora"),
        ("Aurora", "arn:aws:rds:us-east-1:444444444444:cluster:billing", "444444444444", None, "rest"),
        ("RDS", "arn:aws:rds:eu-west-1:111111111111:db:ORDERS-1", "111111111111", None, "rest"),  # case
    ],
)
def test_first_matching_selection_in_file_order_wins(resource_type, arn, account, tags, expected):
    selection = parse_policy(MATCHING).match(resource_type, arn, account, tags)
    assert selection is not None and selection.name == expected


def test_nothing_matches_without_a_catch_all():
    policy = parse_policy(BRIEF_POLICY)
    assert policy.match("RDS", "arn:aws:rds:eu-west-1:111111111111:db:inventory", "111111111111") is None
    assert policy.match("Aurora", ORDERS_ARN, "111111111111") is None
    assert policy.selection("orders") is policy.selections[0]
    assert policy.selection("nope") is None


# ---- durations --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0s", timedelta(0)), ("45s", timedelta(seconds=45)), ("80m", timedelta(minutes=80)),
     ("6h", timedelta(hours=6)), ("2d", timedelta(days=2)), ("1h30m", timedelta(minutes=90)),
     (" 1d2h3m4s ", timedelta(days=1, hours=2, minutes=3, seconds=4))],
)  # fmt: skip
def test_durations_parse(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "80", "80x", "1.5h", "-5m", "30m1h", "1h 30m", "80ms", "h"])
def test_bad_durations_are_refused_with_a_hint(text):
    with pytest.raises(ValueError, match=r"use e\.g\. 30s"):
        parse_duration(text)


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3650)))
def test_format_then_parse_round_trips_whole_seconds(value):
    whole = timedelta(seconds=int(value.total_seconds()))
    assert parse_duration(format_duration(whole)) == whole


@given(*(st.integers(min_value=0, max_value=10_000) for _ in range(4)), st.data())
def test_any_spelling_of_units_parses_to_their_sum(days, hours, minutes, seconds, data):
    present = data.draw(st.lists(st.booleans(), min_size=4, max_size=4).filter(any))
    parts = [(n, unit) for n, unit, keep in zip((days, hours, minutes, seconds), "dhms", present, strict=True) if keep]
    text = "".join(f"{n}{unit}" for n, unit in parts)
    seconds_each = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
    assert parse_duration(text) == timedelta(seconds=sum(n * seconds_each[unit] for n, unit in parts))
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)


def test_the_toml_examples_in_the_reference_are_accepted():
    snippets = re.findall(r"```toml\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    assert len(snippets) >= 6
    for snippet in snippets:
        if 'kind = "plugin"' in snippet:
            snippet = re.sub(r'function = ".*"', 'function = "json:loads"', snippet)  # a module that exists
        text = snippet if "[[selection]]" in snippet else f'[[selection]]\nname = "docs"\n{snippet}'
        assert parse_policy(text, "docs/policy.md").selections


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ('[selection]\nname = "a"\n', 1, "selection: must be an array of tables: write [[selection]]"),
        ('[[selection]]\nname = "a"\n[selection.check]\nkind = "sql"\n', 3, "write [[selection.check]]"),
        ('\n[[selection.check]]\nkind = "sql"\n', 2, "write [[selection]]"),
        (
            '[[selection]]\nname = "a"\n[[selection.checks]]\nkind = "sql"\n',
            3,
            'unknown key "checks" (did you mean "check"?)',
        ),
    ],
)
def test_single_brackets_and_plurals_get_a_hint(text, line, problem):
    error = error_of(text)
    assert error.line == line and problem in error.problem, str(error)
