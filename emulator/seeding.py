"""Control-side helpers for load tests: a retained history of recovery points made at once, and the count of
restore jobs in flight with its high-water mark. AWS has neither call; they exist so that a benchmark can seed
100,000 recovery points in seconds and check a restore cap at every job transition instead of by polling."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from emulator.core import Emulator
from emulator.jobs import snapshot_kind
from emulator.state import RecoveryPoint, now

MAX_SEED = 200_000


def _when(value: Any, name: str) -> datetime:
    if value is None:
        return now()
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{name}: not an ISO 8601 time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise ValueError(f"{name}: needs a time zone: {value!r}")
    return parsed


def seed_recovery_points(emu: Emulator, body: dict[str, Any]) -> list[str]:
    """`count` COMPLETED copies of `template` (a recovery point ARN) in `vault` of the emulator's account, as
    if made earlier: creation times spread evenly from `created_from` to `created_to` (ISO 8601, default now),
    source ARNs `<source_prefix><n>` for n in 0..sources-1 round robin (default: the template's source). They
    share the template's snapshot, so restoring one is the template's restore. No events are sent."""
    template = emu.store.recovery_points.get(str(body.get("template")))
    if template is None or template.status != "COMPLETED" or template.snapshot is None:
        raise ValueError("template: not a COMPLETED recovery point of this emulator")
    vault = emu.vault(str(body.get("vault")))
    count, sources = int(body.get("count", 0)), int(body.get("sources", 1))
    if not 1 <= count <= MAX_SEED or not 1 <= sources <= count:
        raise ValueError(f"need 1 <= sources <= count <= {MAX_SEED}")
    start, end = _when(body.get("created_from"), "created_from"), _when(body.get("created_to"), "created_to")
    if end < start:
        raise ValueError("created_to is before created_from")
    prefix = body.get("source_prefix")
    if prefix is not None and not str(prefix).startswith("arn:aws:"):
        raise ValueError("source_prefix: must start an ARN (arn:aws:...)")
    step = (end - start) / max(1, count - 1)
    kind = snapshot_kind(template.resource_arn)
    made = []
    for n in range(count):
        source = template.resource_arn if prefix is None else f"{prefix}{n % sources}"
        created = start + step * n if count > 1 else end
        point = RecoveryPoint(
            emu.rds_arn(vault.account, kind, f"awsbackup:seed-{emu.faults.uuid()}"),
            vault,
            source,
            source.rsplit(":", 1)[-1],
            template.iam_role_arn,
            created,
            snapshot=template.snapshot,
            status="COMPLETED",
            completed=created + timedelta(seconds=1),
            source_vault_arn=template.vault.arn,
            tags=dict(template.tags),
            resource_type=template.resource_type,
        )
        emu.store.add_recovery_point(point)
        made.append(point.arn)
    return made


def in_flight(emu: Emulator, reset: bool) -> dict[str, int]:
    """Restore jobs PENDING or RUNNING now, and the most at once since start or the last reset (which starts
    the high-water mark again from now)."""
    store = emu.store
    current = store.restores_in_flight()
    if reset:
        store.in_flight_peak = current
    return {"in_flight": current, "peak": store.in_flight_peak}
