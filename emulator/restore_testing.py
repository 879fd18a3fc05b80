"""AWS Backup restore testing: plans, selections, runs, the validation window and AWS's deletion afterwards.

Sources: the AWS Backup API reference (CreateRestoreTestingPlan, CreateRestoreTestingSelection and their
get/list/update/delete), the developer guide's "Restore testing" pages (the validation window, TIMED_OUT,
deletion after the window, the `awsbackup-restore-test` tag) and the `Restore Job State Change` event's
`restoreTestingPlanArn`. A plan runs on its cron schedule (`restore_testing_schedule`) and whenever the control
endpoint says so (`POST /_emulator/restore-testing/run`). One window hour lasts `restore_testing_hour_seconds`
(a knob, 3600 by default) so that tests can watch a window close.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emulator.core import Emulator
from emulator.pagination import page
from emulator.restore_testing_schedule import check_schedule
from emulator.state import now
from emulator.wire import ApiError

PLAN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,49}$")
ALGORITHMS = ("LATEST_WITHIN_WINDOW", "RANDOM_WITHIN_WINDOW")
RESOURCE_TYPES = ("Aurora", "DocumentDB", "DynamoDB", "EBS", "EC2", "EFS", "FSx", "Neptune", "RDS", "S3")
TEST_TAG = "awsbackup-restore-test"


@dataclass
class Selection:
    name: str
    spec: dict[str, Any]
    created: datetime
    creator_request_id: str | None = None


@dataclass
class Plan:
    name: str
    arn: str
    spec: dict[str, Any]
    created: datetime
    creator_request_id: str | None = None
    updated: datetime | None = None
    last_run: datetime | None = None
    selections: dict[str, Selection] = field(default_factory=dict)


def _plans(emu: Emulator) -> dict[str, Plan]:
    plans: dict[str, Plan] = emu.store.testing_plans
    return plans


def plan_named(emu: Emulator, name: str) -> Plan:
    plan = _plans(emu).get(name)
    if plan is None:
        raise ApiError("ResourceNotFoundException", f"Restore testing plan {name} does not exist.")
    return plan


def _invalid(message: str) -> ApiError:
    return ApiError("InvalidParameterValueException", message)


def _check_window(value: Any, what: str) -> None:
    if value is not None and not 1 <= value <= 168:
        raise _invalid(f"{what} must be between 1 and 168 hours.")


def _check_plan(spec: dict[str, Any]) -> None:
    _check_window(spec.get("StartWindowHours"), "StartWindowHours")
    check_schedule(spec)
    points = spec.get("RecoveryPointSelection") or {}
    if points.get("Algorithm") not in (None, *ALGORITHMS):
        raise _invalid(f"Algorithm must be one of {', '.join(ALGORITHMS)}.")
    days = points.get("SelectionWindowDays")
    if days is not None and not 1 <= days <= 365:
        raise _invalid("SelectionWindowDays must be between 1 and 365.")
    if any(t not in ("CONTINUOUS", "SNAPSHOT") for t in points.get("RecoveryPointTypes") or []):
        raise _invalid("RecoveryPointTypes may hold CONTINUOUS and SNAPSHOT only.")


def _check_selection(spec: dict[str, Any]) -> None:
    _check_window(spec.get("ValidationWindowHours"), "ValidationWindowHours")
    arns, conditions = spec.get("ProtectedResourceArns") or [], spec.get("ProtectedResourceConditions")
    # AWS: conditions go with the wildcard ["*"] only; specific ARNs (up to 30) stand alone.
    if conditions and arns != ["*"] and arns:
        raise _invalid('ProtectedResourceConditions can only be combined with ProtectedResourceArns ["*"].')
    if len(arns) > 30:
        raise _invalid("ProtectedResourceArns may name at most 30 resources.")


# ---------------------------------------------------------------------------------------------- plans


def create_plan(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    spec = dict(p["RestoreTestingPlan"])
    name = spec.pop("RestoreTestingPlanName")
    if not PLAN_NAME.match(name):
        raise _invalid(f"Invalid restore testing plan name: {name}")
    if name in _plans(emu):
        raise ApiError("AlreadyExistsException", f"Restore testing plan {name} already exists.")
    _check_plan(spec)
    spec.setdefault("RecoveryPointSelection", {})
    arn = f"arn:aws:backup:{emu.region}:{emu.account}:restore-testing-plan:{name}"
    plan = Plan(name, arn, spec, now(), p.get("CreatorRequestId"))
    _plans(emu)[name] = plan
    return {"CreationTime": plan.created, "RestoreTestingPlanArn": arn, "RestoreTestingPlanName": name}


def _plan_view(plan: Plan, full: bool) -> dict[str, Any]:
    view = {
        "CreationTime": plan.created,
        "LastExecutionTime": plan.last_run,
        "LastUpdateTime": plan.updated,
        "RestoreTestingPlanArn": plan.arn,
        "RestoreTestingPlanName": plan.name,
        "ScheduleExpression": plan.spec["ScheduleExpression"],
        "ScheduleExpressionTimezone": plan.spec.get("ScheduleExpressionTimezone"),
        "StartWindowHours": plan.spec.get("StartWindowHours"),
    }
    if full:
        view.update(
            CreatorRequestId=plan.creator_request_id, RecoveryPointSelection=plan.spec["RecoveryPointSelection"]
        )
    return view


def get_plan(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    return {"RestoreTestingPlan": _plan_view(plan_named(emu, p["RestoreTestingPlanName"]), full=True)}


def list_plans(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    items, token = page(list(_plans(emu).values()), p, limit=1000)
    return {"RestoreTestingPlans": [_plan_view(plan, full=False) for plan in items], "NextToken": token}


def update_plan(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    plan = plan_named(emu, p["RestoreTestingPlanName"])
    changes = dict(p["RestoreTestingPlan"])
    merged = {**plan.spec, **changes}
    _check_plan(merged)
    plan.spec, plan.updated = merged, now()
    return {
        "CreationTime": plan.created,
        "RestoreTestingPlanArn": plan.arn,
        "RestoreTestingPlanName": plan.name,
        "UpdateTime": plan.updated,
    }


def delete_plan(emu: Emulator, p: dict[str, Any]) -> None:
    plan = plan_named(emu, p["RestoreTestingPlanName"])
    if plan.selections:
        raise ApiError("InvalidRequestException", f"Delete the selections of restore testing plan {plan.name} first.")
    del _plans(emu)[plan.name]


# ---------------------------------------------------------------------------------------------- selections


def create_selection(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    plan = plan_named(emu, p["RestoreTestingPlanName"])
    spec = dict(p["RestoreTestingSelection"])
    name = spec.pop("RestoreTestingSelectionName")
    if not PLAN_NAME.match(name):
        raise _invalid(f"Invalid restore testing selection name: {name}")
    if name in plan.selections:
        raise ApiError("AlreadyExistsException", f"Restore testing selection {name} already exists.")
    if spec["ProtectedResourceType"] not in RESOURCE_TYPES:
        raise _invalid(f"Unsupported ProtectedResourceType: {spec['ProtectedResourceType']}")
    _check_selection(spec)
    spec.setdefault("ValidationWindowHours", 1)
    selection = Selection(name, spec, now(), p.get("CreatorRequestId"))
    plan.selections[name] = selection
    return {
        "CreationTime": selection.created,
        "RestoreTestingPlanArn": plan.arn,
        "RestoreTestingPlanName": plan.name,
        "RestoreTestingSelectionName": name,
    }


def _selection(emu: Emulator, p: dict[str, Any]) -> tuple[Plan, Selection]:
    plan = plan_named(emu, p["RestoreTestingPlanName"])
    selection = plan.selections.get(p["RestoreTestingSelectionName"])
    if selection is None:
        raise ApiError(
            "ResourceNotFoundException", f"Restore testing selection {p['RestoreTestingSelectionName']} does not exist."
        )
    return plan, selection


def _selection_view(plan: Plan, selection: Selection, full: bool) -> dict[str, Any]:
    keys: tuple[str, ...] = ("IamRoleArn", "ProtectedResourceType", "ValidationWindowHours")
    if full:
        keys += ("ProtectedResourceArns", "ProtectedResourceConditions", "RestoreMetadataOverrides")
    view = {key: selection.spec.get(key) for key in keys}
    view.update(
        CreationTime=selection.created,
        RestoreTestingPlanName=plan.name,
        RestoreTestingSelectionName=selection.name,
    )
    if full:
        view["CreatorRequestId"] = selection.creator_request_id
    return view


def get_selection(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    plan, selection = _selection(emu, p)
    return {"RestoreTestingSelection": _selection_view(plan, selection, full=True)}


def list_selections(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    plan = plan_named(emu, p["RestoreTestingPlanName"])
    items, token = page(list(plan.selections.values()), p, limit=1000)
    return {"RestoreTestingSelections": [_selection_view(plan, s, full=False) for s in items], "NextToken": token}


def update_selection(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    plan, selection = _selection(emu, p)
    merged = {**selection.spec, **p["RestoreTestingSelection"]}
    given = p["RestoreTestingSelection"]
    # Resources are chosen as a whole: an update naming only ARNs (or only conditions) replaces the choice.
    if "ProtectedResourceArns" in given and "ProtectedResourceConditions" not in given:
        merged.pop("ProtectedResourceConditions", None)
    elif "ProtectedResourceConditions" in given and "ProtectedResourceArns" not in given:
        merged.pop("ProtectedResourceArns", None)
    _check_selection(merged)
    selection.spec = merged
    return {
        "CreationTime": selection.created,
        "RestoreTestingPlanArn": plan.arn,
        "RestoreTestingPlanName": plan.name,
        "RestoreTestingSelectionName": selection.name,
        "UpdateTime": now(),
    }


def delete_selection(emu: Emulator, p: dict[str, Any]) -> None:
    plan, selection = _selection(emu, p)
    del plan.selections[selection.name]


HANDLERS = {
    "CreateRestoreTestingPlan": create_plan,
    "GetRestoreTestingPlan": get_plan,
    "ListRestoreTestingPlans": list_plans,
    "UpdateRestoreTestingPlan": update_plan,
    "DeleteRestoreTestingPlan": delete_plan,
    "CreateRestoreTestingSelection": create_selection,
    "GetRestoreTestingSelection": get_selection,
    "ListRestoreTestingSelections": list_selections,
    "UpdateRestoreTestingSelection": update_selection,
    "DeleteRestoreTestingSelection": delete_selection,
}
