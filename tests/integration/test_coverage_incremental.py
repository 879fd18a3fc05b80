"""The incremental reconciler on the emulator: a later pass reads only the recovery points created since the
previous one (ByCreatedAfter), through aiobotocore and the real Backup adapter."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta

from harness.worker_stack import make_stack
from prometheus_client import CollectorRegistry

from emulator.client import ControlClient
from worker import emf
from worker.adapters.aws import open_clients
from worker.adapters.backup import Backup
from worker.adapters.coverage_store import CoverageStore
from worker.adapters.results import LogSink
from worker.background import reconcile_incrementally
from worker.coverage import IncrementalReconciler
from worker.log import get_logger
from worker.metrics import Metrics
from worker.policy import load_policy


class Counting:
    """The real adapter, counting what each pass is handed."""

    def __init__(self, backup: Backup) -> None:
        self.backup, self.handed = backup, []

    async def sources_backed_up_since(self, after, known_vaults):
        found = await self.backup.sources_backed_up_since(after, known_vaults)
        self.handed.append(len(found.sources))
        return found


class NeverPassed:
    async def last_passed_many(self, source_arns):
        return {}


async def test_a_later_pass_reads_only_new_recovery_points(emulator):
    stack = await make_stack()
    try:
        sources = [await stack.add_source(engine) for engine in ("postgres", "mariadb")]
        for source in sources:
            await stack.backup_and_copy(source)
        async with open_clients(Metrics(CollectorRegistry())) as clients:
            listing = Counting(Backup(clients.backup))
            reconciler = IncrementalReconciler(
                load_policy(stack.policy_file), listing, NeverPassed(), 3600, overlap=timedelta(seconds=0)
            )
            first = await reconciler.run()
            await asyncio.sleep(1.5)
            second = await reconciler.run()
            await stack.backup_and_copy(sources[0])
            third = await reconciler.run()
        arns = sorted(s.arn for s in sources)
        assert sorted(first.uncovered) == arns == sorted(second.uncovered) == sorted(third.uncovered)
        assert listing.handed[0] >= 2, "the first pass lists the history"
        assert listing.handed[1] == 0, "nothing new: nothing read"
        assert listing.handed[2] == 1, "one new backup (and its copy) of one source"
    finally:
        await stack.close()


async def test_a_vault_created_after_a_pass_is_listed_whole(emulator):
    """A vault that appears between passes (created, or shared into this account) may hold recovery points older
    than the watermark: the next pass lists it whole, the vaults it knew only since the watermark."""
    stack = await make_stack()
    try:
        source = await stack.add_source("postgres")
        template = await stack.backup_and_copy(source)
        async with open_clients(Metrics(CollectorRegistry())) as clients:
            listing = Counting(Backup(clients.backup))
            policy = load_policy(stack.policy_file)
            reconciler = IncrementalReconciler(policy, listing, NeverPassed(), 86400, overlap=timedelta(0))
            await reconciler.run()
            late_vault = f"{stack.prefix}-late"
            await clients.backup.create_backup_vault(BackupVaultName=late_vault)
            hours_ago = datetime.now(UTC) - timedelta(hours=2)
            late_source = f"arn:aws:rds:us-east-1:123456789012:db:{stack.prefix}-postgres-late-"
            await asyncio.to_thread(
                ControlClient(os.environ["AWS_ENDPOINT_URL_BACKUP"]).seed_recovery_points,
                template,
                late_vault,
                1,
                source_prefix=late_source,
                created_from=hours_ago.isoformat(),
                created_to=hours_ago.isoformat(),
            )
            second = await reconciler.run()
        assert f"{late_source}0" in second.uncovered, "its backup, older than the watermark, was listed"
        assert listing.handed[1] == 1, "the known vaults had nothing new; the late vault's one source"
        assert source.arn in second.uncovered
    finally:
        await stack.close()


def _calls(metrics: Metrics, service: str, operation: str) -> int:
    return int(metrics.aws_api_calls.labels(service, operation)._value.get())


async def test_a_new_runner_continues_from_the_state_the_last_one_stored(emulator):
    """Runner A passes and dies; runner B (nothing in memory, same ledger table) lists only what is new."""
    stack = await make_stack()
    try:
        sources = [await stack.add_source(engine) for engine in ("postgres", "mariadb")]
        for source in sources:
            await stack.backup_and_copy(source)
        policy = load_policy(stack.policy_file)
        metrics = Metrics(CollectorRegistry())
        async with open_clients(metrics) as clients:
            store = CoverageStore(clients.dynamodb, stack.resources.ledger_table)
            listing_a = Counting(Backup(clients.backup))
            runner_a = IncrementalReconciler(policy, listing_a, store, 3600, overlap=timedelta(0), store=store)
            first = await runner_a.run()
            del runner_a  # dies: whatever it kept in memory is gone
            await asyncio.sleep(1.5)
            await stack.backup_and_copy(sources[0])
            listing_b = Counting(Backup(clients.backup))
            runner_b = IncrementalReconciler(policy, listing_b, store, 3600, overlap=timedelta(0), store=store)
            pages_before = _calls(metrics, "backup", "ListRecoveryPointsByBackupVault")
            vaults = len((await clients.backup.list_backup_vaults())["BackupVaultList"])
            second = await runner_b.run()
            pages = _calls(metrics, "backup", "ListRecoveryPointsByBackupVault") - pages_before
        arns = sorted(s.arn for s in sources)
        assert first.state == second.state == "saved" and not first.resumed and second.resumed
        assert listing_a.handed[0] >= 2, "the first runner found no state: it lists the history"
        assert listing_b.handed == [1], "the next runner lists only the one new backup (and its copy)"
        assert pages == vaults, "one page per vault: nothing retained is listed again"
        assert sorted(second.uncovered) == arns, "the source without a new backup is still judged"
        assert set(runner_b.sources) >= set(arns)
    finally:
        await stack.close()


class PassedHoursAgo:
    """Every source's last PASSED validation was `hours` ago."""

    def __init__(self, hours: float) -> None:
        self.at = time.time() - hours * 3600

    async def last_passed_many(self, source_arns):
        return dict.fromkeys(source_arns, self.at)


def _coverage_policy(prefix: str) -> str:
    """Postgres sources under a 3-hour SLO of their own, MariaDB ones under the deployment's; one selection that
    selects nothing, and one for restore tests (not the reconciler's)."""
    return f"""
[[selection]]
name = "pg"
resource_type = "RDS"
source_arn = "arn:aws:rds:*:*:db:{prefix}-postgres-*"
coverage_slo = "3h"

[[selection]]
name = "maria"
resource_type = "RDS"
source_arn = "arn:aws:rds:*:*:db:{prefix}-mariadb-*"

[[selection]]
name = "none-yet"
resource_type = "RDS"
source_arn = "arn:aws:rds:*:*:db:{prefix}-nothing-*"

[[selection]]
name = "tests"
resource_type = "RDS"
source_arn = "arn:aws:rds:*:*:db:{prefix}-*"
restore_testing_plan = "nightly_*"
"""


async def test_a_pass_publishes_coverage_as_emf_per_selection_and_in_total(emulator):
    stack = await make_stack()
    try:
        sources = [await stack.add_source(engine) for engine in ("postgres", "mariadb")]
        for source in sources:
            await stack.backup_and_copy(source)
        policy_file = stack.policy_file.with_name("coverage.toml")
        policy_file.write_text(_coverage_policy(stack.prefix))
        metrics = Metrics(CollectorRegistry())
        async with open_clients(metrics) as clients:
            # Passed 2 hours ago: inside "pg"'s own 3-hour SLO, outside the deployment's 1 hour ("maria").
            reconciler = IncrementalReconciler(
                load_policy(policy_file), Backup(clients.backup), PassedHoursAgo(2), 3600
            )
            sink = LogSink(clients.logs, stack.resources.log_group, f"{stack.prefix}-coverage", linger=0.05)
            await reconcile_incrementally(reconciler, metrics, get_logger("test"), sink)
            await sink.close()
        lines = [line for line in stack.log_lines() if line.get("event") == "coverage"]
        total = next(line for line in lines if "Selection" not in line)
        per_selection = {line["Selection"]: line for line in lines if "Selection" in line}

        assert (total["UncoveredSources"], total["SelectedSources"], total["BackupsStoppedSources"]) == (1, 2, 0)
        assert set(per_selection) == {"pg", "maria", "none-yet"}, "restore testing selections are not watched"
        counts = {name: (line["UncoveredSources"], line["SelectedSources"]) for name, line in per_selection.items()}
        assert counts == {"pg": (0, 1), "maria": (1, 1), "none-yet": (0, 0)}

        # The Embedded Metric Format directive CloudWatch extracts the metrics with (what the alarm watches).
        directive = total["_aws"]["CloudWatchMetrics"][0]
        assert directive["Namespace"] == emf.NAMESPACE
        assert directive["Dimensions"] == [[]]
        assert {metric["Name"] for metric in directive["Metrics"]} == set(emf.COVERAGE_METRICS)
        assert all(metric["Unit"] == "Count" for metric in directive["Metrics"])
        assert isinstance(total["_aws"]["Timestamp"], int)
        for line in per_selection.values():
            assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Selection"]]
            for name in emf.COVERAGE_METRICS:
                assert isinstance(line[name], int) and not isinstance(line[name], bool)
        assert not any("validation_id" in line or "status" in line for line in lines), "never read as a record"
    finally:
        await stack.close()
