"""Local images for an engine that cannot pull: a Debian base made with mmdebstrap, stand-ins for the upstream images.

* The base: Debian bookworm (minbase + ca-certificates) from the mirror apt uses on this machine, trusting the
  machine's CA bundle (HTTPS here may pass through a proxy that re-signs certificates). The tarball is cached
  under ``container_cache_dir()/base``, keyed by everything that goes into it; ``docker import`` tags it
  ``backup-validator-local/debian:bookworm-<key>``.
* The stand-ins (``docker/standins/<name>/Dockerfile``): built on that base and tagged with the upstream names
  docker-compose.yml and docker/Dockerfile use, so those files stay what users pull and run. Each carries the
  label ``org.backup-validator.standin`` = a key of its inputs and is rebuilt only when the key changes. An image
  of that name without the label is the real upstream one: it is used as it is, never replaced; a missing one
  is pulled first where the engine reaches its registry, and built only where it does not.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from docker_engine import Engine, container_cache_dir

REPO = Path(__file__).resolve().parents[2]
STANDINS_DIR = REPO / "docker" / "standins"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
HOST_DEBIAN_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
BASE_PACKAGES = ("ca-certificates",)
# The machine's bundle becomes a local CA of the image, so a later update-ca-certificates keeps it.
CA_HOOK = (
    'cp /etc/ssl/certs/ca-certificates.crt "$1/usr/local/share/ca-certificates/host-ca-bundle.crt"'
    ' && chroot "$1" update-ca-certificates > /dev/null'
)
STANDIN_LABEL = "org.backup-validator.standin"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
MMDEBSTRAP_TIMEOUT = 1200
BUILD_TIMEOUT = 1800
PULL_TIMEOUT = 600


class CannotBuild(Exception):
    """A local image cannot be made on this machine; the message says why."""


# ---- the base ------------------------------------------------------------------------------------------------


def _host_codename() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("VERSION_CODENAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return ""


def base_sources() -> str:
    """The apt sources of the base: the machine's Debian entries when it runs bookworm, else the public mirror."""
    if _host_codename() == SUITE and HOST_DEBIAN_SOURCES.is_file():
        return HOST_DEBIAN_SOURCES.read_text()
    return f"deb {DEFAULT_MIRROR} {SUITE} main\n"


def base_key() -> str:
    ca = hashlib.sha256(HOST_CA_BUNDLE.read_bytes()).hexdigest() if HOST_CA_BUNDLE.is_file() else "none"
    inputs = {
        "suite": SUITE,
        "variant": "minbase",
        "packages": BASE_PACKAGES,
        "sources": base_sources(),
        "ca": ca,
        "hook": CA_HOOK,
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def base_image(engine: Engine) -> str:
    """The tag of the local Debian base, imported from the cached tarball (made first when missing)."""
    key = base_key()
    tag = f"backup-validator-local/debian:{SUITE}-{key}"
    if engine.docker("image", "inspect", tag, check=False).returncode == 0:
        return tag
    tarball = _base_tarball(key)
    engine.docker(
        "import",
        "--change",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--change",
        'CMD ["bash"]',
        str(tarball),
        tag,
        timeout=600,
    )
    return tag


def _base_tarball(key: str) -> Path:
    folder = container_cache_dir() / "base"
    tarball = folder / f"debian-{SUITE}-{key}.tar"
    if tarball.is_file():
        return tarball
    mmdebstrap = shutil.which("mmdebstrap")
    if mmdebstrap is None:
        raise CannotBuild("mmdebstrap is not installed (`make container-tools` installs it as root)")
    if not HOST_CA_BUNDLE.is_file():
        raise CannotBuild(f"the machine has no CA bundle at {HOST_CA_BUNDLE} for the base image to trust")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        sources = Path(scratch) / "sources"
        sources.write_text(base_sources())
        partial = Path(scratch) / "base.tar"
        command = [
            mmdebstrap,
            "--variant=minbase",
            f"--include={','.join(BASE_PACKAGES)}",
            f"--customize-hook={CA_HOOK}",
            SUITE,
            str(partial),
            str(sources),
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=MMDEBSTRAP_TIMEOUT)
        if result.returncode != 0:
            raise CannotBuild(f"mmdebstrap failed ({result.returncode}):\n{result.stderr[-2000:]}")
        for stale in folder.glob("debian-*.tar"):
            stale.unlink()
        partial.rename(tarball)
    return tarball


# ---- the stand-ins -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StandIn:
    image: str  # the upstream name it is tagged with
    folder: str  # under docker/standins/
    # Puts machine files into the build context; returns a fingerprint of them (part of the key).
    machine_files: Callable[[Path], str] | None = None


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(b"\0" + path.read_bytes() + bytes([os.access(path, os.X_OK)]))
    return digest.hexdigest()


def ensure_standin(engine: Engine, standin: StandIn, base: str) -> str:
    """Build ``standin`` unless an up-to-date one (or the real upstream image) is there; returns what was done."""
    source = STANDINS_DIR / standin.folder
    with tempfile.TemporaryDirectory(prefix="bv-standin-") as scratch:
        context = Path(scratch)
        shutil.copytree(source, context, dirs_exist_ok=True)
        extra = standin.machine_files(context) if standin.machine_files else ""
        key = hashlib.sha256(f"{base}\n{_tree_digest(source)}\n{extra}".encode()).hexdigest()[:16]
        present = _label(engine, standin.image)
        if present is None and _pulled(engine, standin.image):
            return "upstream image pulled"
        if present == "":
            return "upstream image present, used as is"
        if present == key:
            return "up to date"
        proxies = [arg for name in PROXY_VARIABLES if os.environ.get(name) for arg in ("--build-arg", name)]
        engine.docker(
            "build",
            "--build-arg",
            f"BASE_IMAGE={base}",
            *proxies,
            "--label",
            f"{STANDIN_LABEL}={key}",
            "--tag",
            standin.image,
            str(context),
            timeout=BUILD_TIMEOUT,
        )
    return "built"


def _pulled(engine: Engine, image: str) -> bool:
    """The real image, where the engine can reach its registry (here it cannot: the pull fails at once)."""
    return engine.docker("pull", "--quiet", image, check=False, timeout=PULL_TIMEOUT).returncode == 0


def _label(engine: Engine, image: str) -> str | None:
    """None: no such image; "": an image without our label (upstream); else the stand-in's key."""
    result = engine.docker("image", "inspect", "--format", "{{json .Config.Labels}}", image, check=False)
    if result.returncode != 0:
        return None
    labels = json.loads(result.stdout.strip() or "null") or {}
    return str(labels.get(STANDIN_LABEL, ""))


def image_size_mb(engine: Engine, image: str) -> float:
    size = engine.docker("image", "inspect", "--format", "{{.Size}}", image).stdout.strip()
    return int(size) / 1e6


def _provider_mirror() -> Path | None:
    """The offline provider mirror the Terraform tests find (tests/terraform/tfsupport.py), loaded from its file."""
    import importlib.util
    import sys

    module = sys.modules.get("tfsupport")
    if module is None:
        spec = importlib.util.spec_from_file_location("tfsupport", REPO / "tests" / "terraform" / "tfsupport.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["tfsupport"] = module
        spec.loader.exec_module(module)
    mirror: Path | None = module.find_provider_mirror()
    return mirror


def _link_tree(source: Path, target: Path) -> None:
    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link)


def terraform_files(context: Path) -> str:
    """The machine's terraform (of the series the stand-in's tag names) and its provider mirror."""
    binary = shutil.which("terraform")
    if binary is None:
        raise CannotBuild("no terraform on the machine to stand in for " + TERRAFORM_IMAGE)
    about = subprocess.run([binary, "version", "-json"], capture_output=True, text=True, timeout=60)
    version = json.loads(about.stdout or "{}").get("terraform_version", "")
    series = TERRAFORM_IMAGE.rsplit(":", 1)[1]
    if not version.startswith(series + "."):
        raise CannotBuild(f"the machine's terraform is {version or 'of unknown version'}, not {series}.x")
    mirror = _provider_mirror()
    if mirror is None:
        raise CannotBuild("no offline Terraform provider mirror on the machine (see tests/terraform/tfsupport.py)")
    shutil.copy2(binary, context / "terraform")
    _link_tree(mirror, context / "plugins")
    listing = sorted(
        (str(path.relative_to(mirror)), path.stat().st_size, int(path.stat().st_mtime))
        for path in mirror.rglob("*")
        if path.is_file()
    )
    return json.dumps([version, listing])


TERRAFORM_IMAGE = "hashicorp/terraform:1.11"
# The images docker/Dockerfile and docker-compose.yml's default profile name, except Grafana's (no Debian
# package to build it from; the stack test does not start it). Python first: the project's images build on it.
STANDINS = (
    StandIn("python:3.11-slim", "python"),
    StandIn("motoserver/moto:5.2.5", "moto"),
    StandIn("postgres:16", "postgres"),
    StandIn("mariadb:11.4", "mariadb"),
    StandIn("prom/prometheus:v2.55.1", "prometheus"),
    StandIn(TERRAFORM_IMAGE, "terraform", terraform_files),
)


def build_project_image(engine: Engine, target: str, tag: str) -> None:
    """docker/Dockerfile's ``target`` stage, as docker-compose.yml builds it (BuildKit's layer cache makes a
    rebuild of unchanged sources take seconds)."""
    proxies = [arg for name in PROXY_VARIABLES if os.environ.get(name) for arg in ("--build-arg", name)]
    engine.docker(
        "build",
        "--file",
        "docker/Dockerfile",
        "--target",
        target,
        *proxies,
        "--tag",
        tag,
        ".",
        cwd=REPO,
        timeout=BUILD_TIMEOUT,
    )
