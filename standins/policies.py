"""Example policies for the demo, the tests and the benchmark."""

from __future__ import annotations

_CHECKS = """
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


def example_policy(
    source_glob: str,
    *,
    name: str = "orders",
    defaults: str = "",
    extra_checks: str = "",
    aurora_glob: str | None = None,
) -> str:
    """The README's example policy, for sources matching `source_glob` (and, given `aurora_glob`, an Aurora
    selection for the clusters matching it, first). `defaults` and `extra_checks` are TOML appended to
    `[defaults]` and after each selection's checks (the tests and the benchmark tune timeouts, add checks)."""
    aurora = (
        _selection(f"{name}-aurora", "Aurora", aurora_glob, extra_checks, 'db_instance_class = "db.t4g.medium"')
        if aurora_glob
        else ""
    )
    return f"""\
[defaults]
db_instance_class = "db.t4g.micro"
{defaults}
{aurora}{_selection(name, "RDS", source_glob, extra_checks)}"""


def _selection(name: str, resource_type: str, glob: str, extra_checks: str, restore: str = "") -> str:
    restore_table = f"\n[selection.restore]\n{restore}\n" if restore else ""
    return f"""
[[selection]]
name = "{name}"
resource_type = "{resource_type}"
source_arn = "{glob}"
min_interval = "0s"
rpo_target = "80m"
rto_target = "60m"
{restore_table}{_CHECKS}{extra_checks}"""


def table_policy(source_glob: str, *, name: str = "orders-tables", defaults: str = "", extra_checks: str = "") -> str:
    """A policy of one DynamoDB selection (`table_selection`)."""
    return f"[defaults]\n{defaults}\n\n" + table_selection(source_glob, name=name, extra_checks=extra_checks)


def table_selection(source_glob: str, *, name: str = "orders-tables", extra_checks: str = "") -> str:
    """A DynamoDB selection over the `orders` tables of `standins.tables`, with every table check kind."""
    return f"""\
[[selection]]
name = "{name}"
resource_type = "DynamoDB"
source_arn = "{source_glob}"
min_interval = "0s"
rpo_target = "80m"

[[selection.check]]
kind = "item_count"
min = 1
read_budget = 100

[[selection.check]]
kind = "freshness"
attribute = "updated_at"
index = "by_day"
partition_value = "all"
max_age = "80m"

[[selection.check]]
kind = "items"
items = [{{ key = {{ pk = "order-0" }}, attributes = {{ status = "paid" }} }}]

[[selection.check]]
kind = "partiql"
statement = "SELECT pk FROM \\"{{table}}\\" WHERE amount < 0"
expect_rows = 0

[[selection.check]]
kind = "table"
partition_key = "pk"
indexes = ["by_day"]
billing_mode = "PAY_PER_REQUEST"
{extra_checks}"""
