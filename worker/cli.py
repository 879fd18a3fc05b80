"""`backup-validator`: run | validate ARN | check-config | sweep | report | demo | verify-evidence | seal-evidence |
dlq."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import date, timedelta

from worker.log import configure_logging
from worker.policy import Policy, PolicyError, load_policy
from worker.report.command import add_report_command, run_report
from worker.settings import ConfigError, Settings, load_settings

EXIT_CONFIG = 2
DEFAULT_WAIT_SECONDS = 6 * 3600.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backup-validator",
        description="Restore AWS Backup recovery points into throwaway databases, test the data, report, "
        "and delete the copy. Configuration comes from BV_* and the standard AWS environment variables.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "run", help="run the worker until SIGTERM", description="Consume BV_QUEUE_URL until SIGTERM/SIGINT."
    )
    validate = commands.add_parser(
        "validate",
        help="ask the running workers to validate one recovery point",
        description='Send {"recoveryPointArn": ARN} to BV_QUEUE_URL and say what will happen: a running worker '
        "validates it if the policy selects it, sampling admits it and it is not validated already (--force "
        "overrides the last two). Exit status: 0 sent (with --wait: PASSED), 1 with --wait: not PASSED or "
        "sampled out, 2 bad ARN or configuration, 3 AWS unreachable or no record within --wait.",
    )
    validate.add_argument("arn", help="recovery point ARN")
    validate.add_argument("--vault", help="backup vault holding it (looked up when omitted)")
    validate.add_argument(
        "--force", action="store_true", help="validate again even if already validated or sampled out"
    )
    validate.add_argument(
        "--wait",
        type=float,
        nargs="?",
        const=DEFAULT_WAIT_SECONDS,
        default=None,
        metavar="SECONDS",
        help=f"wait for the record (default {DEFAULT_WAIT_SECONDS:g} s) and print it; exit status from its verdict",
    )
    validate.add_argument(
        "--timeout", type=float, default=30.0, metavar="SECONDS", help="for each call to AWS (default 30)"
    )
    commands.add_parser(
        "check-config",
        help="validate the environment and the policy file, then exit",
        description="Exit 0 when BV_* settings and BV_POLICY_FILE are valid; otherwise print the problems "
        "(with the policy file's line) and exit 2.",
    )
    sweep = commands.add_parser(
        "sweep",
        help="delete restored instances, Aurora clusters and tables of ours older than the TTL, once",
        description="One pass of the sweeper: deletes DB instances and Aurora clusters named bv-*, tagged as ours "
        "and recorded in the ledger (a cluster only with the one instance we added to it), and DynamoDB tables "
        "named bv-* that the ledger's restore job reports it created, older than BV_RESOURCE_TTL_SECONDS (or "
        "--ttl-seconds). Everything else is left alone.",
    )
    sweep.add_argument("--ttl-seconds", type=int, default=None, help="override BV_RESOURCE_TTL_SECONDS")
    add_report_command(commands)
    demo = commands.add_parser(
        "demo",
        help="end-to-end demo on local stand-ins (moto, emulator, local PostgreSQL and MariaDB)",
        description="Starts moto and the emulator in-process, creates sources of both engines, backs them up, "
        "copies them to a central vault and validates them; exits 0 when every outcome is the expected one.",
    )
    demo.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    demo.add_argument("--mysql-url", default="mysql://root@127.0.0.1:3306/")
    demo.add_argument("--sources", type=int, default=2, help="sources per engine (one more is stale on purpose)")
    _evidence_parsers(commands)
    return parser


def _evidence_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    verify = commands.add_parser(
        "verify-evidence",
        help="check the records' digests, hash chains and signed manifests; exit 1 naming each problem",
        description="Reads the records (and one day before, for chain context) and the daily manifests from "
        "BV_RESULTS_BUCKET; checks each record's digest, each source's hash chain against the ledger's head, "
        "each finished day's manifest and its KMS signature (BV_EVIDENCE_KMS_KEY_ID). Exit 0 when all hold, "
        "1 naming every edit, gap, deletion or forged manifest.",
    )
    verify.add_argument("--since", type=date.fromisoformat, required=True, help="first day, YYYY-MM-DD (UTC)")
    verify.add_argument("--until", type=date.fromisoformat, default=None, help="last day (default: today)")
    verify.add_argument("--json", action="store_true", help="the result as JSON")
    seal = commands.add_parser(
        "seal-evidence",
        help="sign the daily manifests that are due (the worker does this hourly)",
        description="Writes the signed manifest of each of the last three finished days (ended more than "
        "BV_MANIFEST_GRACE_HOURS ago) that has none, or of --day. Never rewrites a manifest.",
    )
    seal.add_argument("--day", type=date.fromisoformat, default=None, help="seal this day, YYYY-MM-DD")
    dlq = commands.add_parser(
        "dlq",
        help="list dead-lettered messages with why each failed; --redrive moves them back",
        description="Lists BV_DLQ_URL's messages with the failure the worker last noted for each. --redrive "
        "moves them back to their source queue: SQS's StartMessageMoveTask, or where the endpoint lacks it a "
        "bounded receive/send/delete loop (at least once; the ledger makes a duplicate harmless).",
    )
    dlq.add_argument("--redrive", action="store_true", help="move the messages back to their source queue")
    dlq.add_argument("--max", type=int, default=1000, help="at most this many messages (default 1000)")
    dlq.add_argument("--json", action="store_true", help="the listing as JSON")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo":
        # The demo lives with the stand-ins (it imports the emulator and moto): loaded only for this command.
        from standins.demo import run_demo

        configure_logging("WARNING", "auto")
        return int(asyncio.run(run_demo(args.postgres_url, args.mysql_url, args.sources)))
    if args.command == "report":  # needs only the records' settings, not a queue or ledger
        return run_report(args)
    try:
        settings = load_settings()
        configure_logging(settings.log_level, settings.log_format)
        policy = load_policy(settings.policy_file, settings.deployment_bounds)
    except (ConfigError, PolicyError) as exc:
        print(f"backup-validator: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return _dispatch(args, settings, policy)


def _dispatch(args: argparse.Namespace, settings: Settings, policy: Policy) -> int:
    if args.command == "check-config":
        names = ", ".join(selection.name for selection in policy.selections) or "none"
        print(f"configuration OK: {len(policy.selections)} selection(s): {names}")
        return 0
    if args.command == "validate":
        from worker.on_demand import Request, validate

        request = Request(args.arn, args.vault, args.force, args.wait, args.timeout)
        return asyncio.run(validate(settings, request))
    if args.command in {"verify-evidence", "seal-evidence", "dlq"}:
        return _operate(args, settings)
    if args.command == "sweep":
        ttl = args.ttl_seconds if args.ttl_seconds is not None else settings.resource_ttl_seconds
        return asyncio.run(_sweep_once(settings, policy, timedelta(seconds=ttl)))
    from worker.app import run_worker

    asyncio.run(run_worker(settings, policy))
    return 0


def _operate(args: argparse.Namespace, settings: Settings) -> int:
    import worker.dlq as dlq
    import worker.evidence_ops as evidence

    if args.command == "verify-evidence":
        return asyncio.run(evidence.verify_command(settings, args.since, args.until, args.json))
    if args.command == "seal-evidence":
        return asyncio.run(evidence.seal_command(settings, args.day))
    if args.redrive:
        return asyncio.run(dlq.redrive_command(settings, args.max))
    return asyncio.run(dlq.list_command(settings, args.max, args.json))


async def _sweep_once(settings: Settings, policy: Policy, ttl: timedelta) -> int:
    from worker.background import sweep_leftovers
    from worker.wiring import open_services

    async with open_services(settings, policy) as services:
        deleted = await sweep_leftovers(services.kinds, ttl, services.metrics)
    print(f"deleted {len(deleted)} instance(s){': ' + ', '.join(deleted) if deleted else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
