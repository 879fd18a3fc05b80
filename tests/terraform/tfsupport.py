"""Helpers of the Terraform tests: provider mirror discovery, a Terraform runner, deployments on moto, and the
least-privilege rules of the worker's task role. conftest.py builds the fixtures on them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto.athena.responses import AthenaResponse

REPO = Path(__file__).resolve().parents[2]
TF_ROOT = REPO / "deploy" / "terraform"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DATA = Path(__file__).resolve().parent / "data"

PROVIDER = Path("registry.terraform.io") / "hashicorp" / "aws"
REGION = "us-east-1"

# The validator module composes these; each is a module of its own.
SUBMODULES = ("modules/intake", "modules/results", "modules/monitoring", "modules/service")
MODULES = ("modules/validator", "modules/source", *SUBMODULES)
# The Terraform directories that must pass `init -backend=false` + `validate`.
TERRAFORM_DIRS = (*MODULES, "examples/local", "examples/complete", "examples/restore-testing", "examples/multi-region")

# The named queries' SQL, one file per query key; `${name}` placeholders (templatefile() and string.Template alike).
QUERIES = TF_ROOT / "modules" / "results" / "queries"
QUERY_PLACEHOLDERS = {"table", "lookback_days", "stale_after_days"}

# AWS's published sample events (AWS Backup developer guide), by detail-type and state.
SAMPLE_EVENTS: dict[str, dict[str, Any]] = {
    kind: events
    for kind, events in json.loads((DATA / "aws_backup_events.json").read_text()).items()
    if not kind.startswith("_")
}
COPY_JOB_EVENTS = SAMPLE_EVENTS["Copy Job State Change"]

APPLY_TIMEOUT = 420
DESTROY_TIMEOUT = 300


# --------------------------------------------------------------------------------------------------------------
# Provider mirror and CLI configuration
# --------------------------------------------------------------------------------------------------------------


def _is_mirror(path: Path) -> bool:
    try:
        return (path / PROVIDER).is_dir()
    except OSError:
        return False


def _shallow_dirs(root: Path, depth: int) -> Iterator[Path]:
    """``root`` and the directories below it, at most ``depth`` levels down (no symlinks followed)."""
    yield root
    if depth == 0:
        return
    try:
        children = sorted(entry for entry in root.iterdir() if entry.is_dir() and not entry.is_symlink())
    except OSError:
        return
    for child in children:
        yield from _shallow_dirs(child, depth - 1)


def find_provider_mirror() -> Path | None:
    """A directory holding ``registry.terraform.io/hashicorp/aws`` (a Terraform filesystem mirror), or None.

    Looked for, in order: ``$TF_PLUGIN_MIRROR``; Terraform's implied local mirror directories; a shallow search
    (three levels) under /opt and /usr/local.
    """
    home = Path.home()
    data_home = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    candidates: list[Path] = []
    if os.environ.get("TF_PLUGIN_MIRROR"):
        candidates.append(Path(os.environ["TF_PLUGIN_MIRROR"]))
    candidates += [
        home / ".terraform.d" / "plugins",
        data_home / "terraform" / "plugins",
        Path("/usr/local/share/terraform/plugins"),
        Path("/usr/share/terraform/plugins"),
    ]
    for candidate in candidates:
        if _is_mirror(candidate):
            return candidate
    for root in (Path("/opt"), Path("/usr/local")):
        if not root.is_dir():
            continue
        for candidate in _shallow_dirs(root, 3):
            if _is_mirror(candidate):
                return candidate
    return None


def cli_config_text(mirror: Path | None, plugin_cache: Path) -> str:
    lines = [
        "disable_checkpoint = true",
        f"plugin_cache_dir = {json.dumps(str(plugin_cache))}",
    ]
    if mirror is not None:
        # Only the mirror: no `direct {}` block, so a provider missing from it fails instead of being downloaded.
        lines += [
            "provider_installation {",
            "  filesystem_mirror {",
            f"    path = {json.dumps(str(mirror))}",
            "  }",
            "}",
        ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------------------
# Terraform runner
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Terraform:
    binary: str
    env: dict[str, str]
    mirror: Path | None
    workspace_root: Path
    _copies: int = 0
    _init_lock: threading.Lock = field(default_factory=threading.Lock)

    def run(
        self, workdir: Path, *args: str, timeout: float = 300, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        if self.mirror is not None and args and args[0] == "init":
            # Proof that init needs no network: every proxied request would fail (loopback stays direct).
            env.update(
                HTTPS_PROXY="http://127.0.0.1:9",
                HTTP_PROXY="http://127.0.0.1:9",
                NO_PROXY="127.0.0.1,localhost",
            )
        result = subprocess.run(
            [self.binary, *args],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"terraform {' '.join(args)} in {workdir} exited {result.returncode}\n"
                f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
            )
        return result

    def init(self, workdir: Path, *extra: str) -> None:
        # The shared plugin cache is not safe for concurrent inits (two of them race creating its directories).
        with self._init_lock:
            self.run(workdir, "init", "-input=false", "-no-color", *extra, timeout=180)

    def copy_tree(self, label: str) -> Path:
        """A private copy of deploy/terraform (and the test fixtures) keeping their relative paths."""
        self._copies += 1
        root = self.workspace_root / f"{self._copies:02d}-{label}"
        ignore = shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "terraform.tfstate*", "*.tfplan")
        shutil.copytree(TF_ROOT, root / "deploy" / "terraform", ignore=ignore)
        shutil.copytree(FIXTURES, root / "tests" / "terraform" / "fixtures", ignore=ignore)
        return root


def terraform_env(cli_config: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        # Nothing of the machine's or the session's AWS setup reaches the provider; no stray Terraform settings.
        if not name.startswith(("AWS_", "TF_")) and name not in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
    }
    env.update(
        TF_CLI_CONFIG_FILE=str(cli_config),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


# --------------------------------------------------------------------------------------------------------------
# moto
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moto:
    url: str

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def _delete_named_query(self: AthenaResponse) -> str | tuple[str, dict[str, int]]:
    query_id = self._get_param("NamedQueryId")
    if self.athena_backend.named_queries.pop(query_id, None) is None:
        return self.error(f"Named query {query_id} was not found", 400)
    return json.dumps({})


@contextmanager
def athena_delete_named_query() -> Iterator[None]:
    """moto 5 implements Athena's CreateNamedQuery but not DeleteNamedQuery, so a destroy of the named queries
    would hang; this adds it to the in-process server for the duration (deleting the query, as AWS does)."""
    assert not hasattr(AthenaResponse, "delete_named_query"), "moto has DeleteNamedQuery now: drop this"
    AthenaResponse.delete_named_query = _delete_named_query  # type: ignore[attr-defined]
    try:
        yield
    finally:
        del AthenaResponse.delete_named_query  # type: ignore[attr-defined]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------------------------------------------
# Deployments on moto
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Deployment:
    """One Terraform root module applied to moto; ``outputs`` holds `terraform output -json` values."""

    name: str
    terraform: Terraform
    workdir: Path
    variables: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    destroyed: bool = False
    _destroy_result: subprocess.CompletedProcess[str] | None = None

    def apply(self) -> dict[str, Any]:
        (self.workdir / "terraform.tfvars.json").write_text(json.dumps(self.variables))
        self.terraform.init(self.workdir)
        self.terraform.run(self.workdir, "apply", "-auto-approve", "-no-color", timeout=APPLY_TIMEOUT)
        raw = self.terraform.run(self.workdir, "output", "-json", "-no-color").stdout
        self.outputs = {name: value["value"] for name, value in json.loads(raw).items()}
        return self.outputs

    def plan_json(self, *args: str) -> dict[str, Any]:
        """`terraform plan` against the applied state (moto never gives an empty plan: no drift checks)."""
        self.terraform.run(self.workdir, "plan", "-no-color", "-out=check.tfplan", *args, timeout=APPLY_TIMEOUT)
        shown = self.terraform.run(self.workdir, "show", "-json", "check.tfplan").stdout
        result: dict[str, Any] = json.loads(shown)
        return result

    def destroy(self) -> subprocess.CompletedProcess[str]:
        if self._destroy_result is None:
            self._destroy_result = self.terraform.run(
                self.workdir, "destroy", "-auto-approve", "-no-color", timeout=DESTROY_TIMEOUT, check=False
            )
            self.destroyed = self._destroy_result.returncode == 0
        return self._destroy_result


@dataclass
class Deployments:
    executor: ThreadPoolExecutor
    futures: dict[str, Future[dict[str, Any]]]
    deployments: dict[str, Deployment]

    def get(self, name: str) -> Deployment:
        if name not in self.futures:
            self.futures[name] = self.executor.submit(self.deployments[name].apply)
        self.futures[name].result(timeout=APPLY_TIMEOUT + 60)
        return self.deployments[name]


def make_deployments(terraform: Terraform, moto: Moto) -> dict[str, Deployment]:
    local_root = terraform.copy_tree("local")
    full_root = terraform.copy_tree("full")
    sample_vaults = sorted({event["detail"]["destinationBackupVaultArn"] for event in COPY_JOB_EVENTS.values()})
    return {
        "local": Deployment(
            name="local",
            terraform=terraform,
            workdir=local_root / "deploy" / "terraform" / "examples" / "local",
            # Copies into the vaults of AWS's sample events are validated, so that the samples go in unmodified
            # and only the rule's state filter tells COMPLETED from FAILED.
            variables={"endpoint": moto.url, "copy_destination_vault_arns": sample_vaults},
        ),
        "full": Deployment(
            name="full",
            terraform=terraform,
            workdir=full_root / "tests" / "terraform" / "fixtures" / "full",
            variables={"endpoint": moto.url},
        ),
    }


# --------------------------------------------------------------------------------------------------------------
# Shared assertions
# --------------------------------------------------------------------------------------------------------------


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# What the worker may do on the queues it consumes (the work queue and the restore events queue) and on the DLQ.
CONSUME_ACTIONS = {
    "sqs:receivemessage",
    "sqs:sendmessage",  # hand-overs, refreshes and rescued dead letters: fresh copies
    "sqs:deletemessage",
    "sqs:changemessagevisibility",
    "sqs:getqueueattributes",
    "sqs:getqueueurl",
}
# The rescue pass receives and deletes dead letters that lost receives to nobody (worker/rescue.py).
DLQ_ACTIONS = {
    "sqs:sendmessage",
    "sqs:receivemessage",
    "sqs:deletemessage",
    "sqs:changemessagevisibility",
    "sqs:getqueueattributes",
    "sqs:getqueueurl",
}


def check_queue_permissions(document: dict[str, Any], consumed_arns: set[str], dlq_arn: str) -> None:
    """SQS only on our queues, by ARN: consuming (and sending fresh copies to) exactly the work and restore events
    queues, and on the DLQ what the rescue pass needs."""
    granted: dict[str, set[str]] = {}
    for statement in as_list(document["Statement"]):
        actions = {action.lower() for action in as_list(statement["Action"])}
        sqs = {action for action in actions if action.startswith("sqs:")}
        if not sqs:
            continue
        assert sqs == actions, f"SQS mixed with other services: {statement}"
        for arn in as_list(statement["Resource"]):
            assert arn.startswith("arn:aws:sqs:") and "*" not in arn, f"SQS on {arn}"
            granted.setdefault(arn, set()).update(sqs)
    assert set(granted) == consumed_arns | {dlq_arn}, granted
    for arn in consumed_arns:
        assert granted[arn] == CONSUME_ACTIONS, (arn, granted[arn])
    assert granted[dlq_arn] == DLQ_ACTIONS, granted[dlq_arn]


def check_task_policy(document: dict[str, Any], restore_role_arn: str) -> None:
    """The worker's policy: no wildcard RDS changes, PassRole only for the restore role, no `*` actions."""
    statements = as_list(document["Statement"])
    assert statements, "empty policy"
    for statement in statements:
        assert statement.get("Effect") == "Allow", statement
        assert "NotAction" not in statement and "NotResource" not in statement, statement
        actions = [action.lower() for action in as_list(statement["Action"])]
        resources = as_list(statement["Resource"])
        for action in actions:
            service, _, verb = action.partition(":")
            assert "*" not in service and verb not in ("*", ""), f"wildcard action {action}"
            assert service not in ("rds", "iam") or "*" not in verb, f"wildcard RDS/IAM action {action}"
        changes_rds = [
            action
            for action in actions
            if action.startswith(("rds:delete", "rds:modify", "rds:create", "rds:reboot", "rds:restore"))
        ]
        if changes_rds:
            assert "*" not in resources, f"{changes_rds} on every resource"
            restored = [arn for arn in resources if arn.split(":")[5:6] in (["db"], ["cluster"])]
            assert restored, f"{changes_rds} without a db/cluster resource: {resources}"
            names = {":".join(arn.split(":")[6:]) for arn in restored}
            # {bv-*, restore test}: CreateDBInstance of our bv- instance in a restore test's cluster.
            assert names in ({"bv-*"}, {RESTORE_TEST_NAME}, {"bv-*", RESTORE_TEST_NAME}), (
                f"{changes_rds} on {restored}: only bv-* databases may change"
            )
            for arn in resources:
                parts = arn.split(":")
                assert arn.startswith("arn:aws:rds:") and len(parts) >= 7, arn
                if parts[5] not in ("db", "cluster"):
                    # Sub-resources CreateDBInstance needs in a restored cluster; never a delete/modify target.
                    assert parts[5] in ("subgrp", "pg", "og"), arn
                    assert not any(a.startswith(("rds:delete", "rds:modify")) for a in changes_rds), arn
            if RESTORE_TEST_NAME in names:
                _check_restore_test_statement(statement, actions)
        _check_rds_tag_conditions(statement, actions)
        if any(action.startswith("iam:") for action in actions):
            assert actions == ["iam:passrole"], f"IAM beyond PassRole: {actions}"
            assert resources == [restore_role_arn], f"PassRole on {resources}"
            passed_to = statement.get("Condition", {}).get("StringEquals", {}).get("iam:PassedToService")
            assert as_list(passed_to) == ["backup.amazonaws.com"], statement
        _check_table_statement(actions, resources)
        if "*" in resources:
            # Only actions that support no resource-level permissions may use "*".
            allowed_prefixes = ("backup:describe", "backup:list", "backup:get", "backup:put", "ec2:describe")
            allowed = ("cloudwatch:putmetricdata", "dynamodb:listtables", "rds:describeaccountattributes")
            for action in actions:
                assert action in allowed or action.startswith(allowed_prefixes), f"{action} on *"
            if "cloudwatch:putmetricdata" in actions:
                condition = statement.get("Condition", {}).get("StringEquals", {})
                assert condition.get("cloudwatch:namespace"), "PutMetricData without a namespace condition"


# Item writes the worker must never have on a restored table (a check never changes the copy it judges).
TABLE_ITEM_WRITES = {
    "dynamodb:putitem",
    "dynamodb:updateitem",
    "dynamodb:deleteitem",
    "dynamodb:batchwriteitem",
    "dynamodb:partiqlinsert",
    "dynamodb:partiqlupdate",
    "dynamodb:partiqldelete",
}


def _check_table_statement(actions: list[str], resources: list[str]) -> None:
    """DynamoDB: bv- tables are read and deleted, never written; the ledger is never a bv- table."""
    table_actions = {action for action in actions if action.startswith("dynamodb:")}
    if not table_actions:
        return
    restored = [arn for arn in resources if ":table/bv-" in arn]
    if restored:
        assert restored == resources, f"bv- tables mixed with other resources: {resources}"
        assert not table_actions & TABLE_ITEM_WRITES, f"item writes on restored tables: {table_actions}"
    restore_tests = [arn for arn in resources if ":table/awsbackup-restore-test-" in arn]
    if restore_tests:
        # A restore test's table is AWS Backup's: read, never written or deleted.
        assert restore_tests == resources, f"restore test tables mixed with other resources: {resources}"
        assert all(action.startswith(READS) for action in table_actions), f"{table_actions} on restore test tables"
    if "dynamodb:deletetable" in table_actions:
        assert table_actions == {"dynamodb:deletetable"}, table_actions
        for arn in resources:
            assert arn.startswith("arn:aws:dynamodb:") and arn.endswith(":table/bv-*"), f"DeleteTable on {arn}"
    if "*" in resources:
        assert table_actions == {"dynamodb:listtables"}, f"{table_actions} on *"


def check_table_permissions(document: dict[str, Any], ledger_arn: str) -> None:
    """The DynamoDB grants the worker needs: reads and DeleteTable on bv- tables, ListTables, the ledger's items."""
    granted: dict[str, set[str]] = {}
    for statement in as_list(document["Statement"]):
        for action in as_list(statement["Action"]):
            if action.lower().startswith("dynamodb:"):
                for arn in as_list(statement["Resource"]):
                    granted.setdefault(arn, set()).add(action.lower())
    table = next(arn for arn in granted if arn.endswith(":table/bv-*"))
    reads = {"dynamodb:describetable", "dynamodb:scan", "dynamodb:query", "dynamodb:getitem"}
    assert reads | {"dynamodb:batchgetitem", "dynamodb:partiqlselect", "dynamodb:deletetable"} == granted[table]
    assert reads <= granted[table + "/index/*"] and "dynamodb:deletetable" not in granted[table + "/index/*"]
    assert granted["*"] == {"dynamodb:listtables"}
    assert not ledger_arn.split(":table/")[1].startswith("bv-"), ledger_arn
    # PutItem and DeleteItem: the reconciler's state, written in one TransactWriteItems (authorized per item action)
    ledger_items = {"dynamodb:getitem", "dynamodb:batchgetitem", "dynamodb:updateitem", "dynamodb:putitem"}
    assert ledger_items | {"dynamodb:deleteitem", "dynamodb:conditioncheckitem"} <= granted[ledger_arn]
    restore_tests = {arn for arn in granted if ":table/awsbackup-restore-test-" in arn}
    assert all(action.startswith(READS) for arn in restore_tests for action in granted[arn]), granted
    assert set(granted) - restore_tests == {table, table + "/index/*", "*", ledger_arn}, granted


def grants(document: dict[str, Any]) -> dict[str, set[str]]:
    """Action (lower case) -> the resources a policy document allows it on."""
    granted: dict[str, set[str]] = {}
    for statement in as_list(document["Statement"]):
        assert statement.get("Effect") == "Allow", statement
        for action in as_list(statement["Action"]):
            granted.setdefault(action.lower(), set()).update(as_list(statement["Resource"]))
    return granted


def check_evidence_permissions(document: dict[str, Any], key_arn: str | None, bucket_arn: str) -> None:
    """kms:Sign only with the evidence key and its algorithm; manifests read and written only under their prefix."""
    granted = grants(document)
    signing = [s for s in as_list(document["Statement"]) if "kms:sign" in {a.lower() for a in as_list(s["Action"])}]
    if key_arn is None:
        assert not signing, signing
    else:
        assert len(signing) == 1 and as_list(signing[0]["Resource"]) == [key_arn], signing
        assert [a.lower() for a in as_list(signing[0]["Action"])] == ["kms:sign"], signing
        condition = signing[0]["Condition"]["StringEquals"]["kms:SigningAlgorithm"]
        assert as_list(condition) == ["ECDSA_SHA_256"], condition
    assert "kms:verify" not in granted
    assert f"{bucket_arn}/manifests/*" in granted["s3:putobject"] & granted["s3:getobject"]
    assert granted["s3:putobject"] == {f"{bucket_arn}/validations/*", f"{bucket_arn}/manifests/*"}
    assert granted["s3:listbucket"] == {bucket_arn}
    assert not {action for action in granted if action.startswith("s3:delete") or "bypass" in action}


OWNER_TAG = "backup-validator:managed"


# What AWS Backup's restore testing jobs restore (docs/modes.md), and the tag AWS Backup puts on it.
RESTORE_TEST_NAME = "awsbackup-restore-test-*"
RESTORE_TEST_TAG = "awsbackup-restore-test"
READS = (
    "dynamodb:describe",
    "dynamodb:scan",
    "dynamodb:query",
    "dynamodb:get",
    "dynamodb:batchget",
    "dynamodb:partiqlselect",
)


def _check_restore_test_statement(statement: dict[str, Any], actions: list[str]) -> None:
    """The ownership rule for restore tests: modify what AWS Backup restored, add an instance of ours (bv-, our
    tag) to its Aurora cluster, read its tables; never delete there (what we add is deleted under the bv- grants)."""
    changes = {
        a for a in actions if a.startswith(("rds:delete", "rds:modify", "rds:create", "rds:reboot", "rds:restore"))
    }
    changes |= {a for a in actions if a.startswith("dynamodb:") and not a.startswith(READS)}
    assert changes in (
        {"rds:modifydbinstance", "rds:modifydbcluster"},
        {"rds:createdbinstance"},
        set(),
    ), f"{changes} on restore testing resources"
    if changes == {"rds:createdbinstance"}:
        assert not [arn for arn in as_list(statement["Resource"]) if ":db:awsbackup-restore-test" in arn], statement


def _check_rds_tag_conditions(statement: dict[str, Any], actions: list[str]) -> None:
    """RDS changes need our tag: on the resource (modify, delete), on the request (create); tagging only our keys.
    The one exception: what a restore testing job restored is modified without our tag (the worker never tags it)."""
    condition = statement.get("Condition", {})
    restore_test_modify = set(actions) == {"rds:modifydbinstance", "rds:modifydbcluster"} and all(
        arn.endswith(f":{RESTORE_TEST_NAME}") for arn in as_list(statement["Resource"])
    )
    if any(action.startswith(("rds:delete", "rds:modify")) for action in actions) and not restore_test_modify:
        assert as_list(condition["StringEquals"][f"aws:ResourceTag/{OWNER_TAG}"]) == ["true"], statement
    if "rds:createdbinstance" in actions:
        assert as_list(condition["StringEquals"][f"aws:RequestTag/{OWNER_TAG}"]) == ["true"], statement
    if "rds:addtagstoresource" in actions:
        assert actions == ["rds:addtagstoresource"], actions
        keys = set(as_list(condition["ForAllValues:StringEquals"]["aws:TagKeys"]))
        assert keys == {OWNER_TAG, "backup-validator:recovery-point"}, keys
