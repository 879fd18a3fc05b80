"""Example policies for the demo, the tests and the benchmark."""

from __future__ import annotations


def example_policy(source_glob: str, *, name: str = "orders", defaults: str = "", extra_checks: str = "") -> str:
    """The README's example policy, for sources matching `source_glob`. `defaults` and `extra_checks` are TOML
    appended to `[defaults]` and after the checks (the tests and the benchmark tune timeouts and add checks)."""
    return f"""\
[defaults]
db_instance_class = "db.t4g.micro"
{defaults}

[[selection]]
name = "{name}"
resource_type = "RDS"
source_arn = "{source_glob}"
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
{extra_checks}"""
