"""Layers that point one way: faces → service layer → core, read from the source with ``ast``.

Every ``import`` statement counts, including those inside functions (kept lazy for start-up time)
and under ``TYPE_CHECKING``: a lazy import is still a dependency, and a type-only one still ties a
face to a core class. A failure names the importing module, the line and the module it imports.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "ui")

FACES = ("engine.cli", "engine.api", "engine.mcp", "ui")
"""The command line, the HTTP API, the MCP tools and the Streamlit UI."""

SERVICE_LAYER = {
    "engine.service": "the façade: every query and command a face runs, returning contracts",
    "engine.sessions": "the façade's diagnosis sessions on the store, apart so stateless turns never load SQLAlchemy",
    "engine.records": "the façade's cases, API keys, rate limits and audit log on the store (author and admin paths)",
    "engine.contracts": "the JSON-ready pydantic models the service returns and accepts",
    "engine.errors": "the error types the service raises, defined below every layer so faces can catch them",
    "engine.case_schema": "the resolved-case record faces submit and show (the API's case JSON); pydantic only",
    "engine.settings": "face-neutral: settings read from the environment (database URL, author token)",
    "engine.bundled": "face-neutral: where the bundled packs, cases and samples live, checkout or wheel",
    "engine.inputs": "face-neutral: bounded, checked reading of files and text that users name or paste",
}
"""What a face may import besides other faces, each with the reason it is allowed."""

CORE = ("engine.kb", "engine.model", "engine.compiled", "engine.infer", "engine.reason", "engine.evidence",
        "engine.learn", "engine.store")
"""The reasoning core and its storage: none of it may know that a face exists."""


@dataclass(frozen=True)
class Edge:
    """One import statement's target, with where it is written."""

    source: str
    target: str
    line: int

    def __str__(self) -> str:
        return f"{self.source} (line {self.line}) imports {self.target}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for top in PACKAGES for p in sorted((ROOT / top).rglob("*.py"))}


def imported_modules(module: str, path: Path, node: ast.Import | ast.ImportFrom, known: set[str]) -> list[str]:
    """The project modules one statement imports: ``from a import b`` is ``a.b`` when that is a module."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]


def import_edges() -> list[Edge]:
    """Each (module, imported module, line) once, in file order (``from a import b, c`` is one edge)."""
    modules = project_modules()
    known = set(modules)
    edges: list[Edge] = []
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges += [Edge(module, target, node.lineno) for target in imported_modules(module, path, node, known)
                          if target.split(".")[0] in PACKAGES and target != module]
    return sorted(set(edges), key=lambda e: (e.source, e.line, e.target))


def within(module: str, packages: tuple[str, ...] | dict[str, str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_the_graph_sees_the_imports_it_judges() -> None:
    """Guards the parser itself: a graph that missed lazy or relative imports would pass everything."""
    edges = {(e.source, e.target) for e in import_edges()}
    assert ("engine.cli.kb_commands", "engine.service") in edges  # a lazy import inside a command
    assert ("engine.reason.inference", "engine.compiled.cache") in edges
    assert ("engine.cli", "engine.cli.kb_commands") in edges  # ``from engine.cli import kb_commands``


def test_faces_import_only_the_service_layer() -> None:
    offending = [str(e) for e in import_edges()
                 if within(e.source, FACES) and not within(e.target, FACES) and e.target not in SERVICE_LAYER
                 and e.target != "engine"]
    assert not offending, ("a face reaches past the service layer (call a service method returning a contract "
                           "instead):\n" + "\n".join(offending))


def test_what_faces_may_import_besides_the_facade_is_no_back_door_into_the_core() -> None:
    """Errors and the face-neutral utilities stand alone; the case record needs only the pack's ``unknown``."""
    allowed = {"engine.errors": set(), "engine.settings": set(), "engine.bundled": set(), "engine.inputs": set(),
               "engine.case_schema": {"engine.kb.schema"}}
    offending = [str(e) for e in import_edges() if e.source in allowed and e.target not in allowed[e.source]]
    assert not offending, "a module faces may import pulls in more of the project:\n" + "\n".join(offending)


def test_the_service_layer_imports_no_face() -> None:
    offending = [str(e) for e in import_edges() if e.source in SERVICE_LAYER and within(e.target, FACES)]
    assert not offending, "the service layer must not know its faces:\n" + "\n".join(offending)


def test_the_core_imports_no_face_and_no_service() -> None:
    above = (*FACES, "engine.service", "engine.sessions", "engine.records", "engine.contracts")
    offending = [str(e) for e in import_edges() if within(e.source, CORE) and within(e.target, above)]
    assert not offending, "the core imports a layer above it:\n" + "\n".join(offending)


def test_the_model_imports_neither_inference_nor_learning() -> None:
    """Networks are data: the cache that composes them with trees and learned parameters is ``engine.compiled``."""
    offending = [str(e) for e in import_edges()
                 if within(e.source, ("engine.model",)) and within(e.target, ("engine.infer", "engine.learn"))]
    assert not offending, "engine.model must stay below inference and learning:\n" + "\n".join(offending)


def test_the_store_does_not_import_learning() -> None:
    """The store keeps cases; the case schema it stores is ``engine.case_schema``, shared with learning."""
    offending = [str(e) for e in import_edges()
                 if within(e.source, ("engine.store",)) and within(e.target, ("engine.learn",))]
    assert not offending, "engine.store must not depend on engine.learn:\n" + "\n".join(offending)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph.get(node, ()):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycles_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle() -> None:
    edges = import_edges()
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
    found = cycles(graph)
    described = []
    for component in found:
        members = set(component)
        described.append(" ⇄ ".join(component) + ":\n  " + "\n  ".join(
            str(e) for e in edges if e.source in members and e.target in members))
    assert not found, "import cycles (break them by moving the shared code down a layer):\n" + "\n".join(described)
