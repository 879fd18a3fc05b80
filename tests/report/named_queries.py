"""The Athena named queries exactly as Terraform would create them: `terraform plan` of examples/local (against
moto, for the provider's data sources) and the `query` of every planned `aws_athena_named_query`.

Until the example enables the named queries itself, an override file in a private copy of deploy/terraform turns
them on. Nothing is written into the work tree."""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "terraform"))

from tfsupport import TF_ROOT, Terraform, cli_config_text, find_provider_mirror, terraform_env  # noqa: E402

ENABLE = 'module "validator" {\n  create_athena_named_queries = true\n}\n'
# The Glue table as the SQL names it: "database"."table".
TABLE_REFERENCE = re.compile(r'"[a-z0-9_]+"\."[a-z0-9_]+"')


def planned_named_queries(endpoint: str) -> dict[str, str]:
    """for_each key -> rendered SQL."""
    terraform_bin = shutil.which("terraform")
    if terraform_bin is None:
        raise RuntimeError("terraform is not installed: the named queries come from `terraform plan`")
    with tempfile.TemporaryDirectory(prefix="bv-named-queries-") as scratch:
        base = Path(scratch)
        (base / "plugin-cache").mkdir()
        cli_config = base / "cli.tfrc"
        mirror = find_provider_mirror()
        cli_config.write_text(cli_config_text(mirror, base / "plugin-cache"))
        terraform = Terraform(terraform_bin, terraform_env(cli_config), mirror, base)
        root = base / "terraform"
        shutil.copytree(TF_ROOT, root, ignore=shutil.ignore_patterns(".terraform*", "terraform.tfstate*"))
        example = root / "examples" / "local"
        if "create_athena_named_queries = false" in (example / "main.tf").read_text():
            (example / "named_queries_override.tf").write_text(ENABLE)
        (example / "terraform.tfvars.json").write_text(json.dumps({"endpoint": endpoint}))
        terraform.init(example)
        terraform.run(example, "plan", "-no-color", "-refresh=false", "-out=named.tfplan", timeout=300)
        plan = json.loads(terraform.run(example, "show", "-json", "named.tfplan").stdout)
    return {
        str(change["index"]): change["change"]["after"]["query"]
        for change in plan.get("resource_changes", [])
        if change["type"] == "aws_athena_named_query"
    }


def for_duckdb(sql: str, table: str = "validations") -> str:
    """The one adaptation: the Glue table's reference becomes the engine's table."""
    adapted, count = TABLE_REFERENCE.subn(table, sql)
    assert count >= 1, f"no table reference in:\n{sql}"
    return adapted
