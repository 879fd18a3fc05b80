"""RDS DB instance lifecycles: creating -> available, password resets, deletion."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any

from emulator import network
from emulator.core import Emulator
from emulator.state import Cluster, Instance, Physical, now
from emulator.wire import ApiError

log = logging.getLogger("emulator.instances")

IDENTIFIER = re.compile(r"^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}(?<!-)$")
FORBIDDEN_PASSWORD_CHARS = set("/'\"@ ")
DEFAULT_AZ_SUFFIX = "a"
# A final snapshot needs an instance that can be snapshotted.
FINAL_SNAPSHOT_STATES = ("available", "resetting-master-credentials", "storage-optimization")


def check_identifier(identifier: str, parameter: str = "DBInstanceIdentifier") -> str:
    if not IDENTIFIER.match(identifier or ""):
        raise ApiError(
            "InvalidParameterValue",
            f"The parameter {parameter} is not a valid identifier. Identifiers must begin with a letter; "
            "must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain "
            "two consecutive hyphens.",
        )
    return identifier.lower()


def check_password(password: str | None) -> str:
    if not password or len(password) < 8:
        raise ApiError(
            "InvalidParameterValue",
            "The parameter MasterUserPassword is not a valid password because it is shorter than 8 characters.",
        )
    if len(password) > 41 or FORBIDDEN_PASSWORD_CHARS & set(password) or not password.isprintable():
        raise ApiError(
            "InvalidParameterValue",
            "The parameter MasterUserPassword is not a valid password. Only printable ASCII characters besides "
            "'/', '@', '\"', ' ' may be used, at most 41 characters.",
        )
    return password


def new_instance(emu: Emulator, identifier: str, account: str, engine_name: str, **settings: Any) -> Instance:
    """Validate and register an instance in state 'creating' (its database is built separately)."""
    identifier = check_identifier(identifier)
    engine = emu.databases.engine_for(engine_name)
    if identifier in emu.store.instances:
        raise ApiError("DBInstanceAlreadyExists", "DB instance already exists")
    network.check_quota(emu, account)
    subnet_group = network.subnet_group(emu, account, settings.pop("subnet_group", None)).name
    network.check_security_groups(emu, account, settings.get("security_groups") or [])
    network.check_option_group(emu, account, settings.get("option_group"))
    network.check_parameter_group(emu, account, settings.get("parameter_group"))
    address, port = emu.endpoint(engine.kind)
    inst = Instance(
        identifier=identifier,
        arn=emu.rds_arn(account, "db", identifier),
        account=account,
        engine=engine_name.lower(),
        engine_version=engine.version,
        physical=emu.databases.naming.instance(engine.kind),
        status="creating",
        created=now(),
        address=address,
        port=port,
        subnet_group=subnet_group,
        availability_zone=settings.pop("availability_zone", None) or f"{emu.region}{DEFAULT_AZ_SUFFIX}",
        **settings,
    )
    emu.store.add_instance(inst)
    return inst


def create_source(emu: Emulator, inst: Instance) -> None:
    """CreateDBInstance: build an empty database and login, then become available."""

    async def build() -> None:
        started = asyncio.get_running_loop().time()
        try:
            async with emu.databases.work:
                await emu.databases.of(inst.physical).create_instance(inst.physical, inst.password)
        except Exception:
            log.exception("creating instance %s failed", inst.identifier)
            inst.status = "failed"
            return
        await _sleep_until(started + emu.knobs.instance_available_seconds)
        if inst.status == "creating":
            inst.status = "available"

    track_build(emu, inst, build())


def track_build(emu: Emulator, inst: Instance | Cluster, coro: Any) -> asyncio.Task[Any]:
    task = emu.spawn(coro)
    emu.building[inst.arn] = task
    task.add_done_callback(lambda _t: emu.building.pop(inst.arn, None))
    return task


async def _sleep_until(deadline: float) -> None:
    delay = deadline - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)


def modify(emu: Emulator, inst: Instance, params: dict[str, Any]) -> None:
    if inst.status != "available":
        raise ApiError("InvalidDBInstanceState", f"Database instance is not in available state (it is {inst.status}).")
    password = params.get("MasterUserPassword")
    if password is not None and inst.cluster:
        raise ApiError(
            "InvalidParameterCombination",
            "The specified DB instance is a member of a DB cluster. Modify the master password for the DB cluster.",
        )
    if password is not None:
        check_password(password)
    if "DeletionProtection" in params:
        inst.deletion_protection = bool(params["DeletionProtection"])
    if params.get("DBInstanceClass"):
        # RDS applies a class change in the next maintenance window unless ApplyImmediately is set.
        if params.get("ApplyImmediately"):
            inst.instance_class, inst.pending_class = params["DBInstanceClass"], None
        else:
            inst.pending_class = params["DBInstanceClass"]
    if password is not None:
        reset_password(emu, inst, password)


def reset_password(emu: Emulator, inst: Instance | Cluster, password: str) -> None:
    """The new password works only after the apply delay, as RDS applies it asynchronously.

    Overlapping changes apply in order and the last one wins; the change stays pending until the last one has
    applied, so a client never sees "applied" while its own password is still queued.
    """
    inst.pending_password = True
    inst.status = "resetting-master-credentials"
    inst.password_changes += 1
    change = inst.password_changes

    async def apply() -> None:
        await asyncio.sleep(emu.knobs.password_apply_seconds)
        if inst.status != "resetting-master-credentials":
            inst.pending_password = False
            return  # deleted meanwhile: its login is (being) dropped
        if change != inst.password_changes:
            return  # a later change supersedes this one
        try:
            if not inst.ignores_password_changes:
                await emu.databases.of(inst.physical).set_password(inst.physical, password)
                inst.password = password
        finally:
            if change == inst.password_changes:
                inst.pending_password = False
                if inst.status == "resetting-master-credentials":
                    inst.status = "available"

    emu.spawn(apply())


def delete(emu: Emulator, inst: Instance, params: dict[str, Any]) -> None:
    if inst.deletion_protection:
        raise ApiError(
            "InvalidParameterCombination",
            "Cannot delete protected DB Instance, please disable deletion protection and try again.",
        )
    if inst.cluster and params.get("FinalDBSnapshotIdentifier"):
        # A cluster member has no snapshot of its own: the cluster's data is snapshotted as the cluster.
        raise ApiError("InvalidParameterCombination", "A DB instance in a DB cluster cannot take a final snapshot.")
    if not inst.cluster and not params.get("SkipFinalSnapshot") and not params.get("FinalDBSnapshotIdentifier"):
        raise ApiError(
            "InvalidParameterCombination",
            "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.",
        )
    if params.get("SkipFinalSnapshot") and params.get("FinalDBSnapshotIdentifier"):
        raise ApiError(
            "InvalidParameterCombination",
            "FinalDBSnapshotIdentifier can not be specified when deleting an instance with SkipFinalSnapshot.",
        )
    if inst.status == "deleting":
        raise ApiError("InvalidDBInstanceState", f"Instance {inst.identifier} is already being deleted.")
    if not inst.cluster and not params.get("SkipFinalSnapshot") and inst.status not in FINAL_SNAPSHOT_STATES:
        raise ApiError(
            "InvalidDBInstanceState",
            f"Instance {inst.identifier} is currently {inst.status} - a final snapshot cannot be taken.",
        )
    inst.status = "deleting"
    emu.spawn(_drop(emu, inst))


async def _drop(emu: Emulator, inst: Instance) -> None:
    building = emu.building.get(inst.arn)
    if building is not None:
        with contextlib.suppress(Exception):
            await asyncio.shield(building)
    await asyncio.sleep(emu.knobs.instance_available_seconds)
    try:
        if inst.cluster is None:  # a cluster member's data is the cluster's, dropped with it
            await drop_physical(emu, inst.physical)
    finally:
        emu.store.remove_instance(inst)
        cluster = emu.store.clusters.get(inst.cluster or "")
        if cluster is not None and inst.identifier in cluster.members:
            cluster.members.remove(inst.identifier)


async def drop_physical(emu: Emulator, phys: Physical) -> None:
    async with emu.databases.work:
        await emu.databases.of(phys).drop(phys)
