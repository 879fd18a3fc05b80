"""Pure logic of tamper evidence: the canonical digest, and how each kind of gap or edit is named."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from worker.evidence.checks import Entry, check_chains, check_manifest, check_records, check_tail
from worker.evidence.digest import record_digest, seal
from worker.evidence.manifest import due_days

SOURCE = "arn:aws:rds:us-east-1:123456789012:db:orders"


def chain(length: int) -> list[Entry]:
    entries, previous = [], None
    for n in range(1, length + 1):
        sealed = seal({"validation_id": f"v{n}", "source_resource_arn": SOURCE, "restore_duration": 1.5}, previous, n)
        entries.append(Entry(f"validations/dt=2026-12-01/v{n}.json", sealed))
        previous = sealed["record_digest"]
    return entries


def test_the_digest_is_that_of_what_a_reader_parses_back():
    record = {"b": 1.1, "a": {"z": None, "y": "é"}, "record_digest": "ignored"}
    written = json.dumps(record, separators=(",", ":"), default=str)
    reread = json.loads(json.dumps(json.loads(written), indent=4))
    assert record_digest(record) == record_digest(reread)
    assert record_digest(record) != record_digest({**record, "b": 1.2})
    assert record_digest(record).startswith("sha256:")


def test_an_intact_chain_has_no_problems():
    entries = chain(4)
    assert check_records(entries) == [] and check_chains(entries) == []


def test_a_gap_names_the_missing_positions_and_their_neighbours():
    entries = chain(5)
    del entries[1:3]
    [problem] = check_chains(entries)
    assert problem.kind == "chain_gap" and problem.subject == SOURCE
    assert "2..3 missing between validations/dt=2026-12-01/v1.json and validations/dt=2026-12-01/v4.json" in (
        problem.detail
    )


def test_an_edit_with_a_recomputed_digest_breaks_the_successors_link():
    entries = chain(3)
    forged = {**entries[1].record, "restore_duration": 0.5}
    entries[1] = Entry(entries[1].key, seal(forged, forged["previous_digest"], 2))
    assert check_records(entries) == []
    [problem] = check_chains(entries)
    assert (problem.kind, problem.subject) == ("chain_break", entries[2].key)


def test_an_unsealed_record_and_a_plain_edit_are_named():
    entries = chain(2)
    entries[0] = Entry(entries[0].key, {**entries[0].record, "restore_duration": 9})
    entries.append(Entry("validations/dt=2026-12-01/old.json", {"validation_id": "old"}))
    assert [(p.kind, p.subject) for p in check_records(entries)] == [
        ("edited", entries[0].key),
        ("unsealed", "validations/dt=2026-12-01/old.json"),
    ]


def test_a_missing_tail_is_named_from_the_ledger_head():
    [problem] = check_tail(chain(2), {SOURCE: 4})
    assert problem.kind == "chain_tail" and "record(s) 3..4 missing after" in problem.detail
    assert check_tail(chain(2), {SOURCE: 2}) == []


def test_the_manifest_names_deleted_edited_and_late_records():
    entries = chain(3)
    manifest = {"records": [{"key": e.key, "digest": e.record["record_digest"]} for e in entries[:2]]}
    manifest["records"].append({"key": "validations/dt=2026-12-01/gone.json", "digest": "sha256:00"})
    entries[0] = Entry(entries[0].key, {**entries[0].record, "status": "FAILED"})
    found = [(p.kind, p.subject) for p in check_manifest("2026-12-01", manifest, entries)]
    assert found == [
        ("record_deleted", "validations/dt=2026-12-01/gone.json"),
        ("record_edited", entries[0].key),
        ("record_unlisted", entries[2].key),
    ]


def test_a_day_is_due_for_sealing_only_after_its_grace():
    now = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
    assert due_days(now, timedelta(hours=6), 2) == [date(2026, 11, 29), date(2026, 11, 30)]
    assert due_days(now, timedelta(hours=4), 1) == [date(2026, 12, 1)]
