"""The layers of the code import only what they may (ARCHITECTURE.md), read from the source itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("service", "workers")

# layer -> the layers of ours it may import (besides itself). Longest prefix names a module's layer.
MAY_IMPORT: dict[str, set[str]] = {
    "service.domain": set(),
    "service.outbound": {"service.domain"},  # every HTTP request gitferry makes on its own
    "service.forges": {"service.domain", "service.outbound"},
    "service.store": {"service.domain"},
    "service.settings": {"service.domain", "service.forges"},
    # (forges: each process's store is opened with what a stored forge's kind implies)
    "service.jobs": {"service.domain", "service.store", "service.settings", "service.forges"},
    # The notifier sends a job as the API shows it: views is a leaf over domain records.
    "workers.tasks": {"service.domain", "service.store", "service.jobs", "service.settings", "workers.git",
                      "service.web.views", "service.outbound"},
    "service.web": {"service.domain", "service.store", "service.forges", "service.jobs", "service.settings",
                    "service.outbound"},
    "workers.git": set(),  # and the standard library only
    # The demo plays a forge (plain git, in one function) and adds it as the API would.
    "service.demo": {"service.domain", "service.store", "service.jobs"},
    "service.cli": {"service", "workers"},  # the command starts every part
}
# What only the store may import: its tables, its SQL and the database library (which the
# embedded broker also uses, for the broker's own SQLite file).
STORE_ONLY = ("service.store.tables", "service.store.sql", "service.store.db", "service.store.pipelining",
              "service.store.group_commit", "service.store.sqlite_writers", "service.store.timeouts", "sqlalchemy",
              "psycopg")
OWN_DATABASE = {"service.jobs.embedded_broker": ("sqlalchemy",)}


def layer_of(module: str) -> str:
    found = [layer for layer in MAY_IMPORT if module == layer or module.startswith(layer + ".")]
    assert found, f"{module} is in no layer: add it to MAY_IMPORT and ARCHITECTURE.md"
    return max(found, key=len)


def modules() -> list[tuple[str, Path]]:
    found = []
    for top in OURS:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts:  # Alembic's scripts belong to the store
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if name in OURS:
                continue
            found.append((name, path))
    return found


def imports(module: str, path: Path) -> set[str]:
    """Every module `path` imports, at the top, in functions and under TYPE_CHECKING alike."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base not in OURS:  # `from service import outbound` imports service.outbound only
                found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


MODULES = modules()


@pytest.mark.parametrize("module, path", MODULES, ids=[m for m, _ in MODULES])
def test_each_module_imports_only_what_its_layer_may(module: str, path: Path) -> None:
    layer = layer_of(module)
    allowed = MAY_IMPORT[layer] | {layer}
    wrong = []
    for name in imports(module, path):
        if name.split(".")[0] in OURS:
            target = name
            if not any(target == a or target.startswith(a + ".") for a in allowed):
                # `from service.store import Store` names service.store.Store: judge the module part
                parent = target.rpartition(".")[0]
                if not any(parent == a or parent.startswith(a + ".") for a in allowed):
                    wrong.append(name)
        elif layer == "workers.git" and name.split(".")[0] not in sys.stdlib_module_names and name != "__future__":
            wrong.append(name)
        if layer not in ("service.store", "service.cli") and name.startswith(STORE_ONLY) \
                and not name.startswith(OWN_DATABASE.get(module, ())):
            wrong.append(name)
    assert not wrong, f"{module} ({layer}) imports {sorted(set(wrong))}"


def test_the_layer_table_names_real_packages() -> None:
    for layer in MAY_IMPORT:
        path = ROOT / layer.replace(".", "/")
        assert path.is_dir() or path.with_suffix(".py").exists(), layer
