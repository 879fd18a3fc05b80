"""The stand-ins as separate processes: moto (counting requests), the emulator, and the worker under test.

Each runs in its own process so that the worker's CPU and memory, read from /proc through psutil, are its own.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def aws_env(moto_url: str, emulator_url: str, workdir: Path) -> dict[str, str]:
    """Fake credentials and endpoints: nothing here can reach a real AWS account."""
    (workdir / "aws-config").write_text("")
    (workdir / "aws-credentials").write_text("")
    return {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": str(workdir / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ENDPOINT_URL_BACKUP": emulator_url,
        "AWS_ENDPOINT_URL_RDS": emulator_url,
    }


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BV_"))}
    env.update(extra)
    return env


def _wait_listening(process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("listening "):
                return line.split()[1]
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited {process.returncode}:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)
    raise TimeoutError(f"{process.args!r} did not start:\n{log.read_text()[-2000:]}")


@dataclass
class Stand:
    """moto + emulator processes and a scratch directory; `stop()` ends what it started."""

    workdir: Path
    moto_url: str = ""
    emulator_url: str = ""
    # A second moto process for DynamoDB alone (BENCH_MOTO_DYNAMODB_APART=1): the bench's moto runs DynamoDB
    # requests one at a time, and in the same process they share one interpreter lock with every SQS request.
    dynamodb_url: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _logs: list[IO[bytes]] = field(default_factory=list)

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Path]:
        path = self.workdir / f"{name}.log"
        handle = path.open("ab")
        self._logs.append(handle)
        process = subprocess.Popen(argv, env=_clean_env(env), stdout=handle, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process, path

    def start(self, emulator_args: list[str]) -> None:
        moto, moto_log = self.spawn(
            "moto", [sys.executable, "-m", "bench.moto_counting", "--port", str(free_port())], {}
        )
        self.moto_url = _wait_listening(moto, moto_log)
        if os.environ.get("BENCH_MOTO_DYNAMODB_APART"):
            dynamodb, dynamodb_log = self.spawn(
                "moto-dynamodb", [sys.executable, "-m", "bench.moto_counting", "--port", str(free_port())], {}
            )
            self.dynamodb_url = _wait_listening(dynamodb, dynamodb_log)
        emu, emu_log = self.spawn(
            "emulator",
            [
                sys.executable, "-m", "emulator.cli", "--port", str(free_port()), "--postgres-url", POSTGRES_URL,
                "--events-url", self.moto_url, "--seed", "7", *emulator_args,
            ],
            self.env(),
        )  # fmt: skip
        self.emulator_url = _wait_listening(emu, emu_log)

    def pids(self) -> dict[str, int]:
        if self.dynamodb_url:
            moto, dynamodb, emulator = self.processes[:3]
            return {"moto": moto.pid, "moto-dynamodb": dynamodb.pid, "emulator": emulator.pid}
        return {"moto": self.processes[0].pid, "emulator": self.processes[1].pid}

    def env(self) -> dict[str, str]:
        env = aws_env(self.moto_url, self.emulator_url or "http://127.0.0.1:9", self.workdir)
        if self.dynamodb_url:
            env["AWS_ENDPOINT_URL_DYNAMODB"] = self.dynamodb_url
        return env

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(120)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)
        for handle in self._logs:
            handle.close()

    # -- what the stand-ins counted

    def moto_counts(self, reset: bool = False) -> dict[str, int]:
        counts: dict[str, int] = {}
        for url in filter(None, (self.moto_url, self.dynamodb_url)):
            request = urllib.request.Request(f"{url}/_bench/counts", method="POST" if reset else "GET")
            with urllib.request.urlopen(request, timeout=30) as response:
                for name, count in json.loads(response.read()).items():
                    counts[name] = counts.get(name, 0) + int(count)
        return counts

    def emulator_stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.emulator_url}/_emulator/stats", timeout=30) as response:
            return dict(json.loads(response.read()))

    def configure_emulator(self, **knobs: Any) -> None:
        request = urllib.request.Request(
            f"{self.emulator_url}/_emulator/config",
            data=json.dumps(knobs).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=30).close()


def new_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="bv-bench-"))


def remove_workdir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
