"""``backup-emulator``: serve the emulated AWS Backup and RDS APIs until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from typing import NoReturn

from emulator.config import EmulatorConfig, Knobs, parse_range, parse_rate
from emulator.server import start

EXIT_USAGE = 2


class OneLineParser(argparse.ArgumentParser):
    """Bad flags give one line on stderr (scripts and tests read it), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _range(name: str) -> Callable[[str], tuple[float, float]]:
    def convert(text: str) -> tuple[float, float]:
        try:
            return parse_range(text, name)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    return convert


def _rate(text: str) -> float:
    try:
        return parse_rate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _account(value: str) -> tuple[str, str]:
    key, _, account = value.partition("=")
    if not key or not (account.isdigit() and len(account) == 12):
        raise argparse.ArgumentTypeError(f"expected ACCESS_KEY_ID=ACCOUNT_ID (12 digits), got {value!r}")
    return key, account


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="backup-emulator", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port; the URL is printed first")
    p.add_argument("--postgres-url", help="admin URL, e.g. postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--mysql-url", help="admin URL, e.g. mysql://root@127.0.0.1:3306/")
    p.add_argument("--events-url", help="EventBridge endpoint for PutEvents (moto, LocalStack)")
    p.add_argument("--dynamodb-url", help="DynamoDB endpoint holding the tables backed up and restored (moto)")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--account-id", default="123456789012")
    p.add_argument(
        "--account",
        action="append",
        default=[],
        type=_account,
        metavar="ACCESS_KEY_ID=ACCOUNT_ID",
        help="requests signed with this access key act as this (other) account; repeatable",
    )
    p.add_argument("--seed", type=int)
    p.add_argument(
        "--restore-seconds", type=_range("restore-seconds"), default=Knobs.restore_seconds, metavar="MIN[:MAX]"
    )
    p.add_argument("--backup-seconds", type=_range("backup-seconds"), default=Knobs.backup_seconds, metavar="MIN[:MAX]")
    p.add_argument("--copy-seconds", type=_range("copy-seconds"), default=Knobs.copy_seconds, metavar="MIN[:MAX]")
    p.add_argument("--event-delay-seconds", type=_range("event-delay-seconds"), default=(0.0, 0.0), metavar="MIN[:MAX]")
    p.add_argument("--event-drop-rate", type=_rate, default=0.0)
    p.add_argument("--restore-fail-rate", type=_rate, default=0.0)
    p.add_argument("--copy-fail-rate", type=_rate, default=0.0)
    p.add_argument("--throttle-rate", type=_rate, default=0.0)
    p.add_argument("--throttle-operations", default="", help="comma list: backup, rds, backup:ListRestoreJobs, ...")
    p.add_argument("--password-apply-seconds", type=float, default=Knobs.password_apply_seconds)
    p.add_argument("--instance-available-seconds", type=float, default=Knobs.instance_available_seconds)
    p.add_argument("--stuck-rate", type=_rate, default=0.0, help="restored instances that never become available")
    p.add_argument("--unreachable-rate", type=_rate, default=0.0, help="restored endpoints where nothing listens")
    p.add_argument(
        "--ignore-password-rate", type=_rate, default=0.0, help="restored logins that keep their old password"
    )
    p.add_argument("--lazy-restore", action="store_true", help="build restored databases when the restore ends")
    p.add_argument("--event-duplicate-rate", type=_rate, default=0.0, help="events delivered twice")
    p.add_argument("--no-default-vpc", action="store_true", help="no default VPC: restores must name a DB subnet group")
    p.add_argument("--max-db-instances", type=int, default=Knobs.max_db_instances, help="RDS DB instance quota")
    p.add_argument("--advertise-host", help="host reported in PostgreSQL endpoints (default: --host)")
    p.add_argument("--pg-proxy-port", type=int, default=0, help="port of the PostgreSQL password proxy (0: free)")
    p.add_argument("--no-pg-auth-proxy", action="store_true", help="report the PostgreSQL server itself as endpoint")
    p.add_argument("--no-reap", action="store_true", help="keep objects left by dead emulator runs")
    p.add_argument("--max-db-work", type=int, default=4, help="concurrent CREATE DATABASE/copy operations")
    p.add_argument("--log-level", default="WARNING")
    return p


def config_from(args: argparse.Namespace) -> EmulatorConfig:
    knobs = Knobs(
        restore_seconds=args.restore_seconds,
        backup_seconds=args.backup_seconds,
        copy_seconds=args.copy_seconds,
        event_delay_seconds=args.event_delay_seconds,
        event_drop_rate=args.event_drop_rate,
        restore_fail_rate=args.restore_fail_rate,
        copy_fail_rate=args.copy_fail_rate,
        throttle_rate=args.throttle_rate,
        throttle_operations=frozenset(v for v in args.throttle_operations.split(",") if v),
        password_apply_seconds=args.password_apply_seconds,
        instance_available_seconds=args.instance_available_seconds,
        stuck_rate=args.stuck_rate,
        unreachable_rate=args.unreachable_rate,
        ignore_password_rate=args.ignore_password_rate,
        lazy_restore=args.lazy_restore,
        event_duplicate_rate=args.event_duplicate_rate,
        default_vpc=not args.no_default_vpc,
        max_db_instances=args.max_db_instances,
    )
    return EmulatorConfig(
        host=args.host,
        port=args.port,
        postgres_url=args.postgres_url,
        mysql_url=args.mysql_url,
        events_url=args.events_url,
        dynamodb_url=args.dynamodb_url,
        region=args.region,
        account_id=args.account_id,
        accounts=dict(args.account),
        seed=args.seed,
        knobs=knobs,
        advertise_host=args.advertise_host,
        pg_auth_proxy=not args.no_pg_auth_proxy,
        pg_proxy_port=args.pg_proxy_port,
        reap_orphans=not args.no_reap,
        max_concurrent_db_work=args.max_db_work,
    )


async def serve(config: EmulatorConfig) -> int:
    try:
        server = await start(config)
    except (ConnectionError, OSError) as exc:
        print(f"backup-emulator: error: {exc}".splitlines()[0], file=sys.stderr, flush=True)
        return EXIT_USAGE
    print(f"listening {server.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.postgres_url and not args.mysql_url:
        print("backup-emulator: warning: no --postgres-url or --mysql-url; CreateDBInstance will fail", file=sys.stderr)
    return asyncio.run(serve(config_from(args)))


if __name__ == "__main__":
    sys.exit(main())
