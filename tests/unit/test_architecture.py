"""The layout rules of docs/architecture.md, read from the source: no import cycle, arrows one way (only adapters
import the AWS and database drivers, the middle never imports adapters or the wiring, nothing imports the
emulator), and no module over the size one can read in one go."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WORKER = Path(__file__).resolve().parents[2] / "worker"
MAX_LINES = 300
DRIVERS = ("aiobotocore", "botocore", "boto3", "asyncpg", "aiomysql", "pymysql", "duckdb")
# The middle of the arrows flow -> kinds/checks -> ports: it meets AWS and the databases through ports only.
MIDDLE = (
    *("worker.flow", "worker.flow_support", "worker.intake", "worker.restore_testing", "worker.watcher"),
    *("worker.kinds", "worker.checks", "worker.ports", "worker.model", "worker.record", "worker.policy"),
)


def _modules() -> dict[str, Path]:
    modules = {}
    for path in WORKER.rglob("*.py"):
        parts = path.relative_to(WORKER.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every module an import statement names, wherever it stands (lazy imports inside functions included):
    `from a.b import c` names a.b and, where it is one, the module a.b.c."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


IMPORTS = {module: _imports(path) for module, path in MODULES.items()}


def _cycle() -> list[str] | None:
    """One import cycle among worker modules, as the path that closes it; None when there is none."""
    graph = {
        module: sorted(name for name in names if name in MODULES and name != module)
        for module, names in IMPORTS.items()
    }
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for imported in graph[module]:
            found = visit(imported, [*path, module])
            if found:
                return found
        done.add(module)
        return None

    return next((found for module in sorted(graph) if (found := visit(module, []))), None)


def test_the_worker_modules_import_no_cycle() -> None:
    assert len(MODULES) > 50  # the walk found the package
    assert _cycle() is None


def test_the_cycle_finder_finds_a_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(IMPORTS, "worker.ports", IMPORTS["worker.ports"] | {"worker.flow"})
    cycle = _cycle()
    assert cycle is not None and cycle[0] == cycle[-1] and {"worker.flow", "worker.ports"} <= set(cycle)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_only_adapters_import_drivers_and_nothing_imports_the_emulator(module: str) -> None:
    tops = {name.split(".")[0] for name in IMPORTS[module]}
    assert not tops & {"emulator", "tests", "bench"}
    if module != "worker.cli":  # its `demo` command loads the stand-ins lazily
        assert "standins" not in tops
    if not module.startswith("worker.adapters."):
        assert not tops & set(DRIVERS)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith(MIDDLE)))
def test_the_middle_meets_adapters_only_through_ports(module: str) -> None:
    outward = ("worker.adapters", "worker.app", "worker.wiring", "worker.fleet_wiring", "worker.cli")
    assert not {name for name in IMPORTS[module] if name.startswith(outward)}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_worker_module_is_over_the_line_limit(module: str) -> None:
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{MODULES[module].name}: {lines} lines, split it by responsibility"
