"""The HTML page and the evidence pack, from records of real validations, opened in headless chromium."""

from __future__ import annotations

import csv
import re
import shutil
from datetime import datetime, timedelta

import pytest
from browser import png_colours, rendered_dom, screenshot
from harness.outputs import REPORT_OUTPUT as OUTPUT

from worker.report.svg import AMBER, BAD

pytestmark = pytest.mark.slow


def rgb(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def assert_self_contained(html: str) -> None:
    """Nothing to fetch: no scripts, stylesheets, images or fonts from anywhere."""
    assert not re.search(r"<(script|link|img|iframe|object)\b", html, re.I)
    assert not re.search(r"\b(src|href)\s*=", html, re.I)
    assert "url(" not in html and "@import" not in html


def assert_charts_render(page, fleet, name: str) -> None:
    dom = rendered_dom(page)
    assert dom.count("<svg") == 3
    assert len(re.findall(r'<rect class="bar"', dom)) >= 1 + len(fleet.sources)  # days + one bar per resource
    assert len(re.findall(r'<circle class="point"', dom)) == 4  # RTO of pg x2, maria, stale (not the failed restore)
    shot = screenshot(page, OUTPUT / f"{name}.png")
    colours = png_colours(shot)
    # The day's pass rate (3 of 5: amber) and the three uncovered resources' bars (red) are drawn.
    assert colours[rgb(AMBER)] > 2000 and colours[rgb(BAD)] > 2000, "the charts' bars are not on the screenshot"


def test_html_page_opens_in_chromium_with_its_charts(fleet, tmp_path):
    page = tmp_path / "report.html"
    done = fleet.report("--html", str(page))
    assert done.returncode == 0, done.stderr
    html = page.read_text()
    assert_self_contained(html)
    for name in fleet.sources:
        assert fleet.arn(name) in html
    assert "NEVER_TESTED" in html and "RESTORE_FAILED" in html
    shutil.copy(page, OUTPUT / "report.html")
    assert_charts_render(page, fleet, "report")


def read_csv(path):
    return list(csv.DictReader(path.open()))


def test_evidence_pack(fleet, tmp_path):
    pack = tmp_path / "evidence"
    done = fleet.report("--evidence", str(pack), "--since", "1d")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in pack.iterdir()) == [
        "coverage_gaps.csv",
        "evidence.html",
        "resources.csv",
        "validations.csv",
    ]
    validations = read_csv(pack / "validations.csv")
    assert sorted(v["validation_id"] for v in validations) == sorted(r["validation_id"] for r in fleet.records)
    stale = next(v for v in validations if v["source_resource_arn"] == fleet.arn("stale"))
    assert (stale["status"], stale["rpo_target_met"]) == ("FAILED", "false")
    broken = next(v for v in validations if v["source_resource_arn"] == fleet.arn("broken"))
    assert (broken["status"], broken["rto_minutes"], broken["rto_target_met"]) == ("RESTORE_FAILED", "", "false")
    assert {(v["origin"], v["restore_testing_plan_arn"]) for v in validations} == {("event", "")}
    resources = {r["resource"]: r for r in read_csv(pack / "resources.csv")}
    assert resources[fleet.arn("pg")]["runs"] == "2" and resources[fleet.arn("untested")]["runs"] == "0"
    gaps = read_csv(pack / "coverage_gaps.csv")
    # Never passed: uncovered from the start of the period to its end. Passed: only until the first pass.
    for name in ("untested", "broken", "stale"):
        (gap,) = [g for g in gaps if g["resource"] == fleet.arn(name)]
        assert float(gap["hours"]) == pytest.approx(24, abs=0.01), name
    (pg_gap,) = [g for g in gaps if g["resource"] == fleet.arn("pg")]
    first_pass = min(r["finished_at"] for r in fleet.records_of("pg"))
    until = datetime.fromisoformat(pg_gap["uncovered_until"]) - datetime.fromisoformat(first_pass)
    assert abs(until) < timedelta(milliseconds=1)
    html = (pack / "evidence.html").read_text()
    assert_self_contained(html)
    assert "Verification of the evidence" in html and "NOT_VERIFIED" in html and ">VERIFIED<" not in html
    shutil.copy(pack / "evidence.html", OUTPUT / "evidence.html")
    assert_charts_render(pack / "evidence.html", fleet, "evidence")
