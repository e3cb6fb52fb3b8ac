"""The import direction docs/architecture.md describes, checked on the source so it stays true.

Imports are read with `ast` (function-level ones included: they are dependencies too). A module
belongs to the package under `app/` it sits in (`app/inbox/routes.py` to `inbox`), or is one of
its own (`app/stats.py` to `stats`); `app/__init__.py`, which builds the app from every package,
is left out.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"

# One blueprint package per domain: what the leaves below must never import.
DOMAINS = {
    "accounts",
    "auth",
    "dashboard",
    "people",
    "broadcasts",
    "inbox",
    "billing",
    "settings",
    "ops",
    "api",
    "keywords",
    "connect",
    "integrations",
    "automations",
    "notifications",
    "webapp",
    "failures",
    "links",
}
# Leaves: plumbing every domain may use, which knows no domain.
LEAVES = {
    "delivery",
    "cache",
    "models",
    "extensions",
    "stats",
    "usage",
    "jobs",
    "dead_letters",
    "errors",
    "security",
    "mail",
    "audit",
    "merge",
    "partitions",
    "single_statement",
    "retention",
    "replicas",
    "outbound_webhooks",
    "media",
}


def _unit(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "app" or len(parts) < 2:
        return None
    return parts[1]


def _module_of(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every `app.…` module the file imports (at any depth in the file)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("app.")}


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in APP.rglob("*.py"):
        module = _module_of(path)
        source = _unit(module)
        if source is None:
            continue
        for name in _imports(path):
            target = _unit(name)
            if target and target != source:
                graph[source].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle between packages, as a path, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_graph_sees_the_packages():
    graph = package_graph()
    assert {"inbox", "delivery", "cache"} <= set(graph)
    assert "cache" in graph["inbox"]


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_leaves_import_no_domain(leaf):
    reached = package_graph().get(leaf, set()) & DOMAINS
    assert not reached, f"app/{leaf} imports the domain package(s) {sorted(reached)}: return what changed instead"


def test_no_import_cycle_between_packages():
    cycle = _cycle(package_graph())
    assert cycle is None, "packages import each other in a circle: " + " -> ".join(cycle or [])


def test_no_library_private_names():
    """Nothing reaches into a library's private names (SQLAlchemy's cache keys, `re`'s parser)."""
    private = re.compile(r"\b(?:sqlalchemy|re|sre_parse|sre_compile|flask|werkzeug|rq|redis|psycopg)\.(?:\w+\.)*_[a-z]")
    offenders = []
    for path in APP.rglob("*.py"):
        text = path.read_text()
        offenders += [f"{path.name}: {m.group(0)}" for m in private.finditer(text)]
        offenders += [f"{path.name}: {m.group(0)}" for m in re.finditer(r"\._generate_cache_key|_key_is_anon", text)]
    assert not offenders


def test_every_explicit_cache_bump_is_listed_in_the_registry():
    """Set-based writers move cache dependencies themselves; the registry's docstring names them all."""
    from app.cache import registry

    calls = re.compile(r"(?<![\w.])(?:cache\.)?bump\(|members_changed\(")
    writers = {
        str(path.relative_to(APP.parent))
        for path in APP.rglob("*.py")
        if path.parent.name != "cache"
        and any(calls.search(line) and "def " not in line for line in path.read_text().splitlines())
    }
    missing = sorted(w for w in writers if w not in (registry.__doc__ or ""))
    assert not missing, f"list these set-based writers in app/cache/registry.py's docstring: {missing}"
