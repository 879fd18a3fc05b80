"""Static checks of deploy/terraform: fmt, init + validate offline, checkov, docs, the metric contract."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from string import Template
from typing import Any

import hcl2
import pytest
from tfsupport import (
    FIXTURES,
    MODULES,
    PROVIDER,
    QUERIES,
    QUERY_PLACEHOLDERS,
    SUBMODULES,
    TERRAFORM_DIRS,
    TF_ROOT,
    Terraform,
)

from worker import emf


@pytest.fixture(scope="module")
def validate_tree(terraform: Terraform) -> Path:
    return terraform.copy_tree("validate") / "deploy" / "terraform"


def test_terraform_is_recent_enough(terraform: Terraform) -> None:
    version = json.loads(terraform.run(TF_ROOT, "version", "-json").stdout)["terraform_version"]
    major, minor = (int(part) for part in version.split(".")[:2])
    assert (major, minor) >= (1, 5), f"terraform {version}: the modules need >= 1.5"


def test_mirror_holds_a_version_the_constraint_admits(terraform: Terraform) -> None:
    """The offline mirror (when there is one) must hold a provider version that `>= 5.80, < 6.0` admits."""
    constraint = re.search(r'version\s*=\s*">= 5\.80, < 6\.0"', (TF_ROOT / MODULES[0] / "versions.tf").read_text())
    assert constraint, "the AWS provider constraint changed: update this test"
    if terraform.mirror is None:
        return  # a machine with internet: init downloads a matching version
    versions = [path.name for path in (terraform.mirror / PROVIDER).iterdir() if path.is_dir()]
    admitted = [v for v in versions if re.fullmatch(r"5\.(\d+)\.\d+", v) and int(v.split(".")[1]) >= 80]
    assert admitted, f"mirror {terraform.mirror} holds {versions}, none admitted by >= 5.80, < 6.0"


def test_fmt(terraform: Terraform) -> None:
    for tree in (TF_ROOT, FIXTURES):
        result = terraform.run(tree, "fmt", "-check", "-recursive", "-diff", "-no-color", check=False)
        assert result.returncode == 0, f"terraform fmt would change files:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("directory", TERRAFORM_DIRS)
def test_init_and_validate_offline(terraform: Terraform, validate_tree: Path, directory: str) -> None:
    workdir = validate_tree / directory
    terraform.init(workdir, "-backend=false")
    result = terraform.run(workdir, "validate", "-json", "-no-color", check=False)
    report = json.loads(result.stdout)
    problems = [f"{d['severity']}: {d['summary']}: {d.get('detail', '')}" for d in report["diagnostics"]]
    assert report["valid"], "\n".join(problems)
    assert not problems, "validate warnings:\n" + "\n".join(problems)


def _checkov() -> str:
    candidate = Path(sys.executable).parent / "checkov"
    found = str(candidate) if candidate.exists() else shutil.which("checkov")
    assert found, "checkov is not installed (pip install -e '.[dev]')"
    return found


def test_checkov_has_no_failed_check(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            _checkov(),
            "--directory",
            str(TF_ROOT),
            "--framework",
            "terraform",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**_plain_env(), "BC_SKIP_MAPPING": "TRUE"},
        timeout=300,
    )
    assert result.stdout.strip(), f"checkov printed nothing (exit {result.returncode}):\n{result.stderr[-3000:]}"
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [check for one in reports for check in one["results"]["failed_checks"]]
    skipped = [check for one in reports for check in one["results"]["skipped_checks"]]
    passed = sum(one["summary"]["passed"] for one in reports)
    assert passed > 100, "checkov evaluated suspiciously few checks"
    assert all(one["summary"]["parsing_errors"] == 0 for one in reports), "checkov could not parse a file"
    assert not failed, "checkov failures:\n" + "\n".join(
        f"{c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']}:{c['file_line_range']})" for c in failed
    )
    # Every skip is an inline `#checkov:skip=CKV_...:reason` with its reason.
    for check in skipped:
        reason = (check.get("check_result") or {}).get("suppress_comment") or ""
        assert reason.strip() and reason != "No comment provided", f"{check['check_id']} skipped without reason"


def _plain_env() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}


@pytest.mark.parametrize("module", MODULES)
def test_readme_documents_every_input_and_output(module: str) -> None:
    directory = TF_ROOT / module
    readme = (directory / "README.md").read_text()
    variables = re.findall(r'^variable "([^"]+)"', (directory / "variables.tf").read_text(), re.M)
    outputs = re.findall(r'^output "([^"]+)"', (directory / "outputs.tf").read_text(), re.M)
    assert variables and outputs
    missing = [name for name in variables + outputs if f"| `{name}` |" not in readme]
    assert not missing, f"{module}/README.md does not document: {missing}"


def test_every_module_and_example_has_the_standard_files() -> None:
    for directory in TERRAFORM_DIRS:
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
            assert (TF_ROOT / directory / name).is_file(), f"{directory}/{name} is missing"
    for module in MODULES:
        assert (TF_ROOT / module / "README.md").is_file()


def test_every_variable_is_typed_and_described() -> None:
    for path in TF_ROOT.rglob("variables.tf"):
        blocks = re.split(r'^variable "', path.read_text(), flags=re.M)[1:]
        for block in blocks:
            name = block.split('"', 1)[0]
            assert re.search(r"^\s+type\s*=", block, re.M), f"{path}: variable {name} has no type"
            assert re.search(r'^\s+description\s*=\s*"\S', block, re.M), f"{path}: variable {name} undescribed"


def _resource_blocks(text: str) -> list[tuple[str, str, str]]:
    """(type, name, body) of every top-level resource block."""
    blocks = []
    for match in re.finditer(r'^resource "([^"]+)" "([^"]+)" \{', text, re.M):
        depth, index = 0, match.end() - 1
        while True:
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            if depth == 0:
                break
            index += 1
        blocks.append((match.group(1), match.group(2), text[match.end() : index]))
    return blocks


def test_tags_are_passed_to_every_taggable_resource(terraform: Terraform, validate_tree: Path) -> None:
    workdir = validate_tree / "modules" / "validator"
    terraform.init(workdir, "-backend=false")
    schema = json.loads(terraform.run(workdir, "providers", "schema", "-json").stdout)
    resources = schema["provider_schemas"]["registry.terraform.io/hashicorp/aws"]["resource_schemas"]
    untagged = []
    for path in sorted(TF_ROOT.rglob("*.tf")):
        for kind, name, body in _resource_blocks(path.read_text()):
            taggable = "tags" in resources[kind]["block"].get("attributes", {})
            if taggable and not re.search(r"^\s{2}tags\s*=", body, re.M):
                untagged.append(f"{path.relative_to(TF_ROOT)}: {kind}.{name}")
    assert not untagged, "resources without tags:\n" + "\n".join(untagged)


def test_module_metric_namespace_is_the_workers() -> None:
    """The alarms watch, and the worker may write, the namespace the worker's EMF records use (worker/emf.py)."""
    main = (TF_ROOT / "modules" / "validator" / "main.tf").read_text()
    match = re.search(r'metric_namespace\s*=\s*"([^"]+)"', main)
    assert match and match.group(1) == emf.NAMESPACE
    for module in ("modules/monitoring", "modules/service"):
        assert _variables(module)["metric_namespace"]["default"] == emf.NAMESPACE, module


def _variables(module: str) -> dict[str, dict[str, Any]]:
    """Every variable block of a module's variables.tf, parsed (type, default, description, validation)."""
    parsed = hcl2.loads((TF_ROOT / module / "variables.tf").read_text())
    # The parser wraps every attribute value in a one-element list.
    return {
        name: {key: value[0] if isinstance(value, list) else value for key, value in body.items()}
        for block in parsed["variable"]
        for name, body in block.items()
    }


def test_the_root_passes_every_submodule_input_with_the_same_type_and_default() -> None:
    """The validator module passes its inputs on to the submodules with the same type and default, so that using a
    submodule alone behaves like the composed module, and sets every required one. Validations live in the
    submodules only (`name` excepted: the root's KMS alias uses it too)."""
    root = _variables("modules/validator")
    main = (TF_ROOT / "modules" / "validator" / "main.tf").read_text()
    for module in SUBMODULES:
        call = re.search(rf'^module "{module.rsplit("/", 1)[1]}" \{{\n(.*?)^\}}', main, re.M | re.S)
        assert call, f"the validator module does not use {module}"
        for name, body in _variables(module).items():
            if "default" not in body:
                assert re.search(rf"^\s+{name}\s+=", call.group(1), re.M), f"{module}: required {name} not set"
            if not re.search(rf"^\s+{name}\s+=\s+var\.{name}$", call.group(1), re.M):
                continue  # wiring between submodules, or resolved by the root (the key, the log group name)
            assert root[name]["type"] == body["type"], f"{module}: {name} type differs from the root's"
            assert root[name].get("default") == body.get("default"), f"{module}: {name} default differs"
            if "validation" in body and name != "name":
                assert "validation" not in root[name], f"{name} is validated twice (keep it in {module})"
        passed = set(re.findall(r"^\s+(\w+)\s+=\s+var\.\w+$", call.group(1), re.M))
        assert passed <= set(_variables(module)), f"{module} has no input {passed - set(_variables(module))}"


def test_every_named_query_sql_file_renders_with_the_documented_placeholders() -> None:
    """The SQL files hold `${placeholder}`s only (templatefile() and Python's string.Template read them alike)."""
    files = sorted(QUERIES.glob("*.sql"))
    analytics = (TF_ROOT / "modules" / "results" / "analytics.tf").read_text()
    keys = re.findall(r"^    (\w+) = \{\n      name", analytics, re.M)
    assert sorted(keys) == [path.stem for path in files], "one .sql file per named query"
    for path in files:
        text = path.read_text()
        assert "%{" not in text, f"{path.name}: template directives are Terraform-only"
        found = set(re.findall(r"\$\{(\w+)\}", text))
        assert found and found <= QUERY_PLACEHOLDERS, f"{path.name}: {found - QUERY_PLACEHOLDERS}"
        rendered = Template(text).substitute(table='"db"."t"', lookback_days=90, stale_after_days=7)
        assert "$" not in rendered and '"db"."t"' in rendered
