"""The ``backup-emulator`` command: one-line errors with exit code 2, and the bound URL as first line."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest
from harness.databases import MYSQL_URL, POSTGRES_URL

COMMAND = [sys.executable, "-m", "emulator.cli"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, timeout=60, check=False)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    "args",
    [
        ["--no-such-flag"],
        ["--restore-seconds", "9:1"],
        ["--throttle-rate", "2"],
        ["--port", "many"],
    ],
)
def test_bad_flags_exit_2_with_one_line(args):
    result = run(*args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("backup-emulator: error:")


@pytest.mark.parametrize("flag", ["--postgres-url", "--mysql-url"])
def test_an_unreachable_database_server_exits_2_with_one_line(flag, db_servers):
    port = closed_port()
    url = (
        f"postgresql://postgres@127.0.0.1:{port}/postgres"
        if flag == "--postgres-url"
        else f"mysql://root@127.0.0.1:{port}/"
    )
    result = run(flag, url)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"127.0.0.1:{port}" in lines[0]


def test_port_0_prints_the_url_first_and_serves_until_terminated(db_servers):
    process = subprocess.Popen(
        [*COMMAND, "--port", "0", "--postgres-url", POSTGRES_URL, "--mysql-url", MYSQL_URL, "--seed", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        assert first.startswith("listening http://127.0.0.1:"), first
        url = first.split(" ", 1)[1]
        with urllib.request.urlopen(f"{url}/_emulator/health", timeout=10) as response:
            health = json.loads(response.read())
        assert health["status"] == "ok" and set(health["engines"]) == {"postgres", "mysql"}
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
