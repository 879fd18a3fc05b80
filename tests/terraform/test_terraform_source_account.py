"""The source module applied to moto as a second (production) account, and a copy from that account into the
central vault validated end to end.

Accounts on the stand-ins: moto selects the account from the credentials (the provider assumes a role in the
production account through moto's STS, whose credentials moto then treats as that account's); the emulator from
the access key (`EmulatorConfig.accounts`). The path is the production one: a database and a backup in the
production account, a copy job into the central vault, the Copy Job event put on the production account's bus
(where AWS Backup reports a copy job), forwarded by the module's rule to the central account's bus, routed to
the work queue, validated by the worker in the central account.

moto's cross-account delivery differs from EventBridge in one way the worker does not depend on: the forwarded
event carries the receiving account as `account` and no `resources` (EventBridge keeps the original envelope).
moto does not evaluate the central bus's resource policy either, so admitting the account there
(`source_account_ids` of the validator module) is checked by the module's own tests, not here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from harness.worker_stack import make_stack, run_inline
from tfsupport import REGION, Deployment, Terraform

from emulator.server import EmulatorHandle
from emulator.traffic import Traffic

pytestmark = pytest.mark.slow

CENTRAL_ACCOUNT = "123456789012"  # moto's default account, the harness's credentials
SOURCE_ACCOUNT = "222222222222"
# The production account's access key on the emulator (its requests act as SOURCE_ACCOUNT).
SOURCE_KEY = "AKIAPRODUCTIONTEST01"


@pytest.fixture
def central_emulator(
    emulator_factory: Callable[..., EmulatorHandle], monkeypatch: pytest.MonkeyPatch
) -> Iterator[EmulatorHandle]:
    """An emulator that knows the production account's key; the worker and the harness use it."""
    handle = emulator_factory(accounts={SOURCE_KEY: SOURCE_ACCOUNT})
    monkeypatch.setenv("AWS_ENDPOINT_URL_BACKUP", handle.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_RDS", handle.url)
    yield handle


def _production_emulator_client(service: str, url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=SOURCE_KEY,
        aws_secret_access_key="production",
    )


def _production_moto_client(service: str, moto_url: str) -> Any:
    """A client of the production account on moto, as Terraform got it: credentials of an assumed role there."""
    sts = boto3.client("sts", endpoint_url=moto_url, region_name=REGION)
    role = f"arn:aws:iam::{SOURCE_ACCOUNT}:role/inspect"
    credentials = sts.assume_role(RoleArn=role, RoleSessionName="inspect")["Credentials"]
    return boto3.client(
        service,
        endpoint_url=moto_url,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def _source_deployment(terraform: Terraform, moto_url: str, name: str, central_vault_arn: str) -> Deployment:
    root = terraform.copy_tree("source-account")
    return Deployment(
        name="source-account",
        terraform=terraform,
        workdir=root / "tests" / "terraform" / "fixtures" / "source_account",
        variables={
            "endpoint": moto_url,
            "source_account_id": SOURCE_ACCOUNT,
            "destination_vault_arn": central_vault_arn,
            "name": name,
        },
    )


def _check_deployed_in_the_production_account(outputs: dict[str, Any], moto_url: str, central_vault_arn: str) -> None:
    assert outputs["account_id"] == SOURCE_ACCOUNT
    module = outputs["source"]
    name = module["vault_name"]
    assert module["vault_arn"] == f"arn:aws:backup:{REGION}:{SOURCE_ACCOUNT}:backup-vault:{name}"
    assert module["kms_key_arn"].startswith(f"arn:aws:kms:{REGION}:{SOURCE_ACCOUNT}:key/")
    assert module["backup_selection_id"] is None  # selection_tags = [] (moto has no CreateBackupSelection)
    # The plan copies into the central vault.
    backup = _production_moto_client("backup", moto_url)
    plan = backup.get_backup_plan(BackupPlanId=module["backup_plan_id"])["BackupPlan"]
    [rule] = plan["Rules"]
    assert [action["DestinationBackupVaultArn"] for action in rule["CopyActions"]] == [central_vault_arn]
    # The forwarding rule, in the production account, targets the central account's default bus.
    events = _production_moto_client("events", moto_url)
    rule_name = module["forward_copy_events_rule_name"]
    pattern = json.loads(events.describe_rule(Name=rule_name)["EventPattern"])
    assert pattern["detail"]["destinationBackupVaultArn"] == [central_vault_arn]
    [target] = events.list_targets_by_rule(Rule=rule_name)["Targets"]
    assert target["Arn"] == f"arn:aws:events:{REGION}:{CENTRAL_ACCOUNT}:event-bus/default"
    assert target["RoleArn"].startswith(f"arn:aws:iam::{SOURCE_ACCOUNT}:role/")
    # Nothing of it is in the central account.
    central_rules = boto3.client("events").list_rules(NamePrefix=rule_name)["Rules"]
    assert central_rules == []


async def test_a_copy_from_a_production_account_deployed_by_the_source_module_is_validated(
    terraform: Terraform, moto_server: Any, central_emulator: EmulatorHandle
) -> None:
    stack = await make_stack()
    name = f"{stack.prefix}-prod"
    central_vault_arn = stack.traffic.central_vault_arn
    assert central_vault_arn.split(":")[4] == CENTRAL_ACCOUNT
    deployment = _source_deployment(terraform, moto_server.url, name, central_vault_arn)
    production = Traffic(source_vault=name, central_vault=stack.traffic.central_vault)
    production.rds = _production_emulator_client("rds", central_emulator.url)
    production.backup = _production_emulator_client("backup", central_emulator.url)
    production.central_vault_arn = central_vault_arn
    source = None
    try:
        outputs = await asyncio.to_thread(deployment.apply)
        _check_deployed_in_the_production_account(outputs, moto_server.url, central_vault_arn)
        production.role_arn = outputs["source"]["backup_role_arn"]

        # The production account's side on the emulator: its vault (Terraform's lives in moto, which cannot
        # back up), a database with recent rows.
        production.backup.create_backup_vault(BackupVaultName=name)
        source = await production.create_source(f"{stack.prefix}-orders", "postgres")
        await production.write_rows(source, 40, timedelta(minutes=30))
        assert source.arn.split(":")[4] == SOURCE_ACCOUNT
        central_rds = boto3.client("rds")
        with pytest.raises(central_rds.exceptions.DBInstanceNotFoundFault):
            central_rds.describe_db_instances(DBInstanceIdentifier=source.identifier)

        async with run_inline(stack):
            copy_arn = await production.backup_and_copy(source)
            records = await stack.wait_for_records(1, timeout=180)

        assert copy_arn.split(":")[4] == CENTRAL_ACCOUNT, copy_arn
        [record] = records
        assert record["status"] == "PASSED", record
        assert record["recovery_point_arn"] == copy_arn
        assert record["account_id"] == SOURCE_ACCOUNT
        assert record["source_resource_arn"] == source.arn
        assert record["backup_vault_name"] == stack.traffic.central_vault
        assert record["cleanup_status"] == "DELETED"
        # The Copy Job event happened in the production account: only the module's rule could bring it to the
        # central bus, where the work queue's rule is.
        completed = [
            event
            for event in central_emulator.events()
            if event["detail-type"] == "Copy Job State Change" and event["detail"]["state"] == "COMPLETED"
        ]
        assert [(event["account"], event["detail"]["destinationRecoveryPointArn"]) for event in completed] == [
            (SOURCE_ACCOUNT, copy_arn)
        ]
        assert stack.restored_instances() == []

        # Control: a copy into another vault of the central account is no copy the rule forwards; had the event
        # been put on the central bus, the work queue's rule (COMPLETED copies, any vault) would have taken it.
        other = boto3.client("backup").create_backup_vault(BackupVaultName=f"{stack.prefix}-other")
        production.central_vault_arn = other["BackupVaultArn"]
        second = await production.backup_and_copy(source)
        await asyncio.sleep(3)  # the emulator puts events at once (no delay knob here); leave moto time anyway
        assert central_emulator.stats()["events"]["pending"] == 0
        assert stack.queue_depth() == 0, f"the copy {second} reached the central queue without the forwarding rule"
    finally:
        if source is not None:
            await production.delete_source(source)
        await stack.close()
        result = await asyncio.to_thread(deployment.destroy)
        assert result.returncode == 0, result.stderr[-3000:]
