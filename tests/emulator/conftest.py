"""The conformance suite's clients: botocore (with and without its own parameter validation), the AWS CLI from
PyPI (a client nobody here wrote), and raw HTTP for what no SDK would send."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

AWS_CLI = Path(sys.executable).parent / "aws"


@dataclass
class CliResult:
    code: int
    output: Any
    stderr: str


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@pytest.fixture(scope="session")
def aws_cli() -> Any:
    """``aws_cli(url, "backup", "list-restore-jobs", ...)``: the venv's AWS CLI v1 against ``url``."""
    if not AWS_CLI.exists():
        pytest.fail(f"the AWS CLI is missing from the virtualenv ({AWS_CLI}); run `make venv` (dev extras)")

    def run(url: str, *args: str) -> CliResult:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
        done = subprocess.run(
            [str(AWS_CLI), "--endpoint-url", url, "--output", "json", *args],
            env={**env, "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        output = json.loads(done.stdout) if done.returncode == 0 and done.stdout.strip() else None
        return CliResult(done.returncode, output, done.stderr)

    return run


@pytest.fixture(scope="session")
def raw() -> Any:
    """``raw(url, method, path, body, headers)``: a request no SDK would send; never raises on an HTTP error."""

    def send(url: str, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None):
        request = urllib.request.Request(f"{url}{path}", data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return RawResponse(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as err:
            return RawResponse(err.code, dict(err.headers), err.read())

    return send


@pytest.fixture
def loose(emulator: Any) -> Any:
    """``loose("rds")``: a botocore client that sends what it is given (no client-side validation, no retries)."""

    def make(service: str) -> Any:
        config = Config(parameter_validation=False, retries={"max_attempts": 1, "mode": "standard"})
        return boto3.client(service, config=config)

    return make
