"""`backup-validator`: run | validate ARN | check-config | sweep | report | demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import timedelta

from worker.log import configure_logging
from worker.policy import Policy, PolicyError, load_policy
from worker.report.command import add_report_command, run_report
from worker.settings import ConfigError, Settings, load_settings

EXIT_CONFIG = 2


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
        help="queue an on-demand validation of one recovery point",
        description='Send {"recoveryPointArn": ARN} to BV_QUEUE_URL; a running worker validates it.',
    )
    validate.add_argument("arn", help="recovery point ARN")
    validate.add_argument("--vault", help="backup vault holding it (looked up when omitted)")
    commands.add_parser(
        "check-config",
        help="validate the environment and the policy file, then exit",
        description="Exit 0 when BV_* settings and BV_POLICY_FILE are valid; otherwise print the problems "
        "(with the policy file's line) and exit 2.",
    )
    sweep = commands.add_parser(
        "sweep",
        help="delete restored instances and Aurora clusters of ours older than the TTL, once",
        description="One pass of the sweeper: deletes DB instances and Aurora clusters named bv-*, tagged as ours "
        "and recorded in the ledger, older than BV_RESOURCE_TTL_SECONDS (or --ttl-seconds); a cluster only with "
        "the one instance we added to it. Everything else is left alone.",
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
    return parser


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
        policy = load_policy(settings.policy_file)
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
        return asyncio.run(_send_on_demand(settings, args.arn, args.vault))
    if args.command == "sweep":
        ttl = args.ttl_seconds if args.ttl_seconds is not None else settings.resource_ttl_seconds
        return asyncio.run(_sweep_once(settings, policy, timedelta(seconds=ttl)))
    from worker.app import run_worker

    asyncio.run(run_worker(settings, policy))
    return 0


async def _send_on_demand(settings: Settings, arn: str, vault: str | None) -> int:
    from worker.app import open_services
    from worker.events import parse_body

    body = json.dumps({"recoveryPointArn": arn, **({"backupVaultName": vault} if vault else {})})
    parse_body(body)  # the worker must accept what we send
    policy = Policy(source="<none>", selections=())
    async with open_services(settings, policy) as services:
        message_id = await services.queue.send(body)
    print(f"queued validation of {arn} (message {message_id})")
    return 0


async def _sweep_once(settings: Settings, policy: Policy, ttl: timedelta) -> int:
    from worker.app import open_services
    from worker.background import sweep_leftovers

    async with open_services(settings, policy) as services:
        deleted = await sweep_leftovers(services.kinds, ttl, services.metrics)
    print(f"deleted {len(deleted)} instance(s){': ' + ', '.join(deleted) if deleted else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
