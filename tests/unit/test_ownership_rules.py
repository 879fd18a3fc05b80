"""The ownership proof's rules (pure): only the ARN a restore job says it created is ours."""

from __future__ import annotations

from worker.kinds.ownership import created_problem, names_problem
from worker.model import RestoreJob

ARN = "arn:aws:rds:us-east-1:123456789012:db:bv-abc"


def test_a_job_that_created_nothing_proves_nothing() -> None:
    failed = RestoreJob("job-1", "FAILED", None, "DB instance already exists")
    assert created_problem(failed, ARN) == "restore job job-1 (FAILED) created nothing"
    assert names_problem("job-1", None, ":db:bv-abc") == "restore job job-1 created nothing"


def test_only_the_exact_created_resource_is_ours() -> None:
    job = RestoreJob("job-2", "COMPLETED", ARN)
    assert created_problem(job, ARN) is None
    assert created_problem(job, ARN + "x") is not None
    assert names_problem("job-2", ARN, ":db:bv-abc") is None
    assert names_problem("job-2", ARN, ":db:bv-ab") is not None
    assert names_problem("job-2", ARN.replace(":db:", ":cluster:"), ":db:bv-abc") is not None
