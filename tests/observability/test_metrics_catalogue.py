"""docs/metrics.md lists exactly the metrics worker/metrics.py defines (names, types, labels, buckets), and
exactly the alerts docker/prometheus/alerts.yml defines, so the page cannot drift from the code."""

from __future__ import annotations

import re

import pytest
from obs_support import REPO, alert_rules, worker_metrics

DOC = (REPO / "docs" / "metrics.md").read_text(encoding="utf-8")
METRICS = {spec.name: spec for spec in worker_metrics()}


def table(heading: str) -> list[list[str]]:
    """The rows (cells stripped, header and separator dropped) of the first table under `## heading`."""
    section = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", DOC, re.MULTILINE | re.DOTALL)
    assert section, f"docs/metrics.md has no '## {heading}' section"
    rows = [line for line in section[1].splitlines() if line.startswith("|")]
    assert len(rows) > 2, f"no table under '## {heading}'"
    return [[cell.strip() for cell in row.strip().strip("|").split("|")] for row in rows[2:]]


def names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


CATALOGUE = {names(row[0])[0]: row for row in table("Catalogue")}


def test_the_catalogue_lists_exactly_the_worker_metrics() -> None:
    assert set(CATALOGUE) == set(METRICS), (
        f"missing from docs: {sorted(set(METRICS) - set(CATALOGUE))}; "
        f"not in worker/metrics.py: {sorted(set(CATALOGUE) - set(METRICS))}"
    )
    assert len(table("Catalogue")) == len(CATALOGUE), "a metric is listed twice"


@pytest.mark.parametrize("name", sorted(METRICS))
def test_type_and_labels(name: str) -> None:
    row = CATALOGUE.get(name)
    assert row, f"{name} is not in docs/metrics.md"
    _, kind, labels, meaning = row
    assert kind == METRICS[name].type
    assert tuple(names(labels)) == METRICS[name].labels, f"{name}: labels in the docs differ"
    assert meaning, f"{name}: say what it means"


def test_histogram_buckets() -> None:
    documented = {names(row[0])[0]: row[1] for row in table("Histogram buckets")}
    histograms = {name: spec for name, spec in METRICS.items() if spec.type == "histogram"}
    assert set(documented) == set(histograms)
    for name, spec in histograms.items():
        values = tuple(float(value) for value in documented[name].split(","))
        assert values == spec.buckets, f"{name}: documented buckets differ from worker/metrics.py"


def test_the_alert_table_lists_exactly_the_alert_rules() -> None:
    rows = table("Alerts")
    documented = {names(row[0])[0]: row[1] for row in rows}
    rules = {rule["alert"]: rule["labels"]["severity"] for rule in alert_rules()}
    assert documented == rules, "docs/metrics.md's alert table (names, severities) differs from alerts.yml"
