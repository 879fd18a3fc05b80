"""The Docker engine of the container tests: a running one when it answers, else a private ``dockerd`` started here.

A private engine keeps its images in a cache directory outside the repository (``container_cache_dir``), so the
local base and stand-in images survive between runs; one test session at a time uses it (a file lock). Its
socket, pid file and state live in a fresh temporary directory, and it is stopped by its PID at the end.

The client is Debian's ``/usr/bin/docker`` when installed (it matches Debian's ``dockerd`` and builds with
BuildKit without the buildx plugin), else the ``docker`` on PATH.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

DEBIAN_CLIENT = Path("/usr/bin/docker")
DEBIAN_DOCKERD = Path("/usr/sbin/dockerd")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
LOCK_TIMEOUT = 1200.0


class NoEngine(Exception):
    """No Docker engine can be had here; the message says why and what would fix it."""


def container_cache_dir() -> Path:
    """Where the base image tarball and the private engine's data live (outside the repository)."""
    override = os.environ.get("BV_CONTAINER_CACHE")
    if override:
        return Path(override)
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "backup-validator" / "containers"


@dataclass
class Engine:
    client: str
    env: dict[str, str]
    private: bool
    _process: subprocess.Popen[bytes] | None = None
    _runtime_dir: Path | None = None
    _lock: IO[str] | None = None
    started_in: float = 0.0
    log_path: Path | None = field(default=None)

    def docker(
        self, *args: str, timeout: float = 120, check: bool = True, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.client, *args], env=self.env, capture_output=True, text=True, timeout=timeout, cwd=cwd
        )
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args[:3])} failed ({result.returncode}):\n{result.stderr[-3000:]}")
        return result

    def stop(self) -> None:
        """Stop the engine this session started (by its PID); a running engine found here is left alone."""
        if self._process is not None:
            _terminate(self._process)
            self._process = None
        if self._runtime_dir is not None:
            shutil.rmtree(self._runtime_dir, ignore_errors=True)
            self._runtime_dir = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def docker_client() -> str | None:
    if DEBIAN_CLIENT.exists():
        return str(DEBIAN_CLIENT)
    return shutil.which("docker")


def client_env(client: str, docker_host: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    env["DOCKER_BUILDKIT"] = "1"
    # docker-compose runs `docker` from PATH: make it this client.
    env["PATH"] = f"{Path(client).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def find_dockerd() -> str | None:
    return shutil.which("dockerd") or (str(DEBIAN_DOCKERD) if DEBIAN_DOCKERD.exists() else None)


def _answers(client: str, env: dict[str, str]) -> bool:
    try:
        result = subprocess.run(
            [client, "info", "--format", "{{.ServerVersion}}"], env=env, capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and bool(result.stdout.strip())


def acquire_engine() -> Engine:
    """A running engine (``DOCKER_HOST`` or the default socket), else a private dockerd; raises NoEngine."""
    client = docker_client()
    if client is None:
        raise NoEngine(
            "no Docker client: install Debian's docker.io and docker-compose (`make container-tools` does, as root)"
        )
    env = client_env(client, None)
    if _answers(client, env):
        return Engine(client=client, env=env, private=False)
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    dockerd = find_dockerd()
    if dockerd is None:
        raise NoEngine(
            f"no Docker engine answers at {where} and dockerd is not installed "
            "(`make container-tools` installs Debian's docker.io as root)"
        )
    if os.geteuid() != 0:
        raise NoEngine(f"no Docker engine answers at {where}, and only root can start dockerd here")
    return _start_private_engine(client, dockerd)


def _start_private_engine(client: str, dockerd: str) -> Engine:
    cache = container_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    lock = _take_lock(cache / "engine.lock")
    _stop_orphan(cache)
    runtime = Path(tempfile.mkdtemp(prefix="bvd-", dir="/tmp"))  # short: a unix socket path has ~100 bytes
    socket = runtime / "docker.sock"
    log_path = runtime / "dockerd.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                dockerd,
                "--data-root",
                str(cache / "engine"),
                "--exec-root",
                str(runtime / "exec"),
                "--pidfile",
                str(runtime / "dockerd.pid"),
                "--host",
                f"unix://{socket}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    engine = Engine(
        client=client,
        env=client_env(client, f"unix://{socket}"),
        private=True,
        _process=process,
        _runtime_dir=runtime,
        _lock=lock,
        log_path=log_path,
    )
    (cache / "engine.pid").write_text(str(process.pid))
    started = time.monotonic()
    while time.monotonic() - started < START_TIMEOUT:
        if process.poll() is not None:
            break
        if socket.exists() and _answers(client, engine.env):
            engine.started_in = time.monotonic() - started
            return engine
        time.sleep(0.5)
    tail = log_path.read_text(errors="replace")[-1500:]
    engine.stop()
    raise NoEngine(f"dockerd did not come up within {START_TIMEOUT:.0f} s; its log ends:\n{tail}")


def _stop_orphan(cache: Path) -> None:
    """A private dockerd left running by a test session that was killed: stopped before a new one uses the same
    data (it is recognised by its data-root, so a reused PID of another process is never signalled)."""
    record = cache / "engine.pid"
    try:
        pid = int(record.read_text())
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return
    if b"--data-root" not in command or str(cache / "engine").encode() not in command:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    if Path(f"/proc/{pid}").exists():
        os.kill(pid, signal.SIGKILL)
    exec_root = Path(command[command.index(b"--exec-root") + 1].decode()) if b"--exec-root" in command else None
    if exec_root is not None and exec_root.parent.name.startswith("bvd-"):
        shutil.rmtree(exec_root.parent, ignore_errors=True)


def _take_lock(path: Path) -> IO[str]:
    handle = path.open("a")
    deadline = time.monotonic() + LOCK_TIMEOUT
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() > deadline:
                handle.close()
                raise NoEngine(f"another test session holds {path} (its private Docker engine) for too long") from None
            time.sleep(2)


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
