"""A small synchronous client for the control endpoints (usable against an in-process or a CLI emulator)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


class ControlClient:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the emulator's own http URL
            f"{self.url}/_emulator/{path}",
            data=data,
            method="GET" if body is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.loads(response.read())

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("health")
        return result

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("stats")
        return result

    def configure(self, **knobs: Any) -> dict[str, Any]:
        """Change knobs at run time, e.g. ``configure(restore_seconds=[1, 3], throttle_rate=0.2)``."""
        result: dict[str, Any] = self._call("config", knobs)
        return result

    def knobs(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("config")
        return result

    def set_stale(self, source_arn: str, minutes: float, table: str = "events", column: str = "created_at") -> None:
        self._call("stale", {"source_arn": source_arn, "table": table, "column": column, "minutes": minutes})

    def clear_stale(self, source_arn: str) -> None:
        self._call("stale", {"source_arn": source_arn, "minutes": 0})

    def stale(self) -> dict[str, dict[str, Any]]:
        """The stale-copy switches in force, by source ARN."""
        result: dict[str, dict[str, Any]] = self._call("stale")
        return result

    def reset(self, knobs: dict[str, Any]) -> None:
        """Put knobs back (e.g. to an earlier ``knobs()``) and clear every stale-copy switch."""
        self.configure(**knobs)
        for source in self.stale():
            self.clear_stale(source)

    def events(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("events")
        return result

    def start_restore_test(
        self, recovery_point_arn: str, plan_arn: str | None = None, metadata: dict[str, str] | None = None
    ) -> str:
        """Start a restore the way a restore testing plan does; returns the restore job id."""
        body: dict[str, Any] = {"recovery_point_arn": recovery_point_arn, "metadata": metadata or {}}
        if plan_arn:
            body["restore_testing_plan_arn"] = plan_arn
        return str(self._call("restore-testing", body)["RestoreJobId"])

    def run_restore_testing_plan(self, plan_name: str) -> list[str]:
        """Run a restore testing plan now, as its schedule would; the restore job ids it started."""
        return [str(i) for i in self._call("restore-testing/run", {"plan": plan_name})["RestoreJobIds"]]

    def add_network(
        self,
        account: str | None = None,
        *,
        subnet_groups: dict[str, list[str]] | None = None,
        security_groups: list[str] | None = None,
        option_groups: list[str] | None = None,
        parameter_groups: list[str] | None = None,
    ) -> dict[str, Any]:
        """Add an account's (default: the emulator's) subnet groups, security groups, option/parameter groups."""
        body: dict[str, Any] = {
            "subnet_groups": subnet_groups or {},
            "security_groups": security_groups or [],
            "option_groups": option_groups or [],
            "parameter_groups": parameter_groups or [],
        }
        if account:
            body["account"] = account
        result: dict[str, Any] = self._call("network", body)
        return result

    def network(self, account: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self._call("network" + (f"?account={account}" if account else ""))
        return result

    def seed_recovery_points(
        self,
        template: str,
        vault: str,
        count: int,
        *,
        sources: int = 1,
        source_prefix: str | None = None,
        created_from: str | None = None,
        created_to: str | None = None,
    ) -> list[str]:
        """`count` COMPLETED recovery points sharing `template`'s snapshot, made at once (see emulator/seeding.py)."""
        body: dict[str, Any] = {"template": template, "vault": vault, "count": count, "sources": sources}
        optional = {"source_prefix": source_prefix, "created_from": created_from, "created_to": created_to}
        body.update({k: v for k, v in optional.items() if v is not None})
        return [str(a) for a in self._call("recovery-points", body)["RecoveryPointArns"]]

    def restores_in_flight(self, reset: bool = False) -> dict[str, int]:
        """{"in_flight": PENDING + RUNNING restore jobs now, "peak": the most at once since start or last reset}."""
        result: dict[str, int] = self._call("restores-in-flight", {} if reset else None)
        return result
