"""A renewal pass and a heartbeat over thousands of leases and messages: several calls at a time (one after the
other, a pass outlasts the lease), each lease or batch once, and one that hangs or fails costs the others
nothing."""

import asyncio

import pytest
from memory_ports import Log

from worker import renewals
from worker.adapters import sqs
from worker.adapters.sqs import Queue
from worker.renewals import renew_leases
from worker.slots import Holdings


class CountingLedger:
    def __init__(self, hang: frozenset[str] = frozenset()) -> None:
        self.renewed: list[str] = []
        self.active = self.most = 0
        self.hang = hang

    async def renew(self, recovery_point_arn: str) -> None:
        self.active += 1
        self.most = max(self.most, self.active)
        try:
            if recovery_point_arn in self.hang:
                await asyncio.Event().wait()
            await asyncio.sleep(0.001)
            self.renewed.append(recovery_point_arn)
        finally:
            self.active -= 1


async def test_a_renewal_pass_renews_each_lease_once_several_at_a_time():
    holdings = Holdings(held={f"rp-{n}" for n in range(200)})
    ledger = CountingLedger()
    await asyncio.wait_for(renew_leases(holdings, ledger, Log()), 10)
    assert sorted(ledger.renewed) == sorted(holdings.held)
    assert 1 < ledger.most <= renewals.RENEWALS_AT_ONCE


async def test_a_renewal_that_hangs_costs_the_others_nothing(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(renewals, "RENEW_TIMEOUT_SECONDS", 0.2)
    holdings = Holdings(held={f"rp-{n}" for n in range(100)})
    ledger, log = CountingLedger(hang=frozenset({"rp-7"})), Log()
    await asyncio.wait_for(renew_leases(holdings, ledger, log), 10)
    assert sorted(ledger.renewed) == sorted(holdings.held - {"rp-7"})
    assert [fields["recovery_point_arn"] for event, fields in log.events if event == "lease.renew_failed"] == ["rp-7"]


async def test_a_lease_released_during_the_pass_is_not_renewed():
    holdings = Holdings(held={f"rp-{n}" for n in range(100)})
    ledger = CountingLedger()
    original, last = ledger.renew, list(holdings.held)[-1]  # the pass's own order: renewed last

    async def renew_and_finish_another(arn: str) -> None:
        holdings.held.discard(last)
        await original(arn)

    ledger.renew = renew_and_finish_another  # type: ignore[method-assign]
    await asyncio.wait_for(renew_leases(holdings, ledger, Log()), 10)
    assert last not in ledger.renewed and len(ledger.renewed) == 99


class SqsClient:
    def __init__(self, failing_batch: int | None = None) -> None:
        self.batches: list[list[str]] = []
        self.active = self.most = 0
        self.failing_batch = failing_batch

    async def change_message_visibility_batch(self, QueueUrl, Entries):
        self.active += 1
        self.most = max(self.most, self.active)
        try:
            await asyncio.sleep(0.001)
            handles = [entry["ReceiptHandle"] for entry in Entries]
            if "h-3" in handles:
                return {"Failed": [{"Id": str(handles.index("h-3")), "Code": "ReceiptHandleIsInvalid"}]}
            if self.failing_batch is not None and f"h-{self.failing_batch * 10}" in handles:
                raise ConnectionError("no answer")
            self.batches.append(handles)
            return {"Successful": [{"Id": entry["Id"]} for entry in Entries]}
        finally:
            self.active -= 1


async def test_a_heartbeat_sends_every_batch_once_several_at_a_time():
    client = SqsClient()
    handles = [f"h-{n}" for n in range(205)]
    refused = await asyncio.wait_for(Queue(client, "url").extend_many(handles, 300), 10)
    assert refused == ["h-3"]
    assert sorted(h for batch in client.batches for h in batch) == sorted(set(handles) - set(handles[:10]))
    assert 1 < client.most <= sqs.EXTEND_CALLS_AT_ONCE


async def test_a_heartbeat_batch_that_fails_does_not_stop_the_others():
    client = SqsClient(failing_batch=5)
    handles = [f"h-{n}" for n in range(100)]
    with pytest.raises(Exception, match="no answer"):
        await asyncio.wait_for(Queue(client, "url").extend_many(handles, 300), 10)
    sent = {h for batch in client.batches for h in batch}
    assert sent == set(handles[10:]) - set(handles[50:60])


def test_a_worker_may_hold_fifty_thousand_restores(monkeypatch: pytest.MonkeyPatch, tmp_path):
    """The benchmark's 50,000 in flight is a setting a user can pick; more is refused."""
    import os

    from worker.settings import ConfigError, load_settings

    for name in list(os.environ):
        if name.startswith("BV_"):
            monkeypatch.delenv(name)
    policy = tmp_path / "policy.toml"
    policy.write_text("")
    required = {"BV_QUEUE_URL": "https://sqs/q", "BV_RESULTS_BUCKET": "b", "BV_LEDGER_TABLE": "t"}
    for name, value in {**required, "BV_POLICY_FILE": str(policy)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BV_MAX_CONCURRENT_RESTORES", "50000")
    assert load_settings().max_concurrent_restores == 50_000
    monkeypatch.setenv("BV_MAX_CONCURRENT_RESTORES", "50001")
    with pytest.raises(ConfigError, match="BV_MAX_CONCURRENT_RESTORES"):
        load_settings()
