"""`make demo` is the README's first command: it must keep working, and its table must tell the truth."""

import os
import subprocess
import sys


def test_demo_validates_every_source_and_fails_the_stale_one(db_servers):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    result = subprocess.run(
        [sys.executable, "-m", "worker.cli", "demo", "--sources", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.startswith("orders-")}
    assert rows["orders-postgres-1"][2] == "PASSED"
    assert rows["orders-mariadb-1"][2] == "PASSED"
    assert rows["orders-aurora-postgresql-1"][1:3] == ["aurora-postgresql", "PASSED"]
    assert rows["orders-aurora-mysql-1"][1:3] == ["aurora-mysql", "PASSED"]
    assert rows["orders-stale-postgres"][2] == "FAILED"
    assert "freshness=FAILED" in " ".join(rows["orders-stale-postgres"])
    assert rows["orders-table-1"][1:3] == ["dynamodb", "PASSED"]
    assert rows["orders-table-stale"][1:3] == ["dynamodb", "FAILED"]
    assert "freshness=FAILED" in " ".join(rows["orders-table-stale"])
    assert "every outcome as expected" in result.stdout
