"""Compile each KB version once, keep the result on disk by content hash, within size budgets.

Junction trees are stored as numpy ``.npz`` plus JSON (never pickle: a cache file must not be able
to run code), so a later process skips triangulation and never imports networkx.

Both caches are bounded, because a long-running server meets many packs and versions:

- in memory, the most recently used trees up to ``ROOTWARD_CACHE_MEMORY_MB`` (default 1024);
- on disk, the most recently used files up to ``ROOTWARD_CACHE_DISK_MB`` (default 512), oldest
  use first out (a read refreshes a file's time);
- a twin network whose tree would exceed ``ROOTWARD_TWIN_MAX_ENTRIES`` potential entries (default
  4,000,000, i.e. 32 MB per evidence row) is never built; the marker that says so is cached, and
  fix assessment uses its documented approximation for that fix (``engine.reason.fixes``).

Files are named by a digest of what they hold (pack, version hash, format, fixes), never by text a
user typed, so no input can choose a file name or make one too long.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.infer.junction_tree import JunctionTree, TreeTooLarge, factorises
from engine.kb.kbcache import cache_dir
from engine.kb.knowledge import KnowledgeBase
from engine.model.network import DiscreteNetwork
from engine.model.twin import TwinLayout

MODEL_FORMAT = 6
"""Bump when the compiled structure changes for the same KB (e.g. a new decomposition)."""
MIB = 1024 * 1024
DEFAULT_MEMORY_MB = 1024
DEFAULT_DISK_MB = 512
DEFAULT_TWIN_MAX_ENTRIES = 4_000_000
MODEL_SUFFIXES = (".npz", ".json", ".too-large")
CACHE_PREFIXES = ("model-", "twin-", "kb-")
"""Only files the caches write are ever evicted, even where the cache folder is shared."""


def _setting(name: str, default: int) -> int:
    """A positive integer from the environment; anything else means the default (documented in the README)."""
    raw = os.environ.get(name, "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else default


def memory_budget() -> int:
    return _setting("ROOTWARD_CACHE_MEMORY_MB", DEFAULT_MEMORY_MB) * MIB


def disk_budget() -> int:
    return _setting("ROOTWARD_CACHE_DISK_MB", DEFAULT_DISK_MB) * MIB


def twin_max_entries() -> int:
    return _setting("ROOTWARD_TWIN_MAX_ENTRIES", DEFAULT_TWIN_MAX_ENTRIES)


@dataclass(frozen=True)
class CompiledModel:
    """A KB version's inference structure, shared by ranking, next question and fix assessment."""

    version_hash: str
    tree: JunctionTree


@dataclass(frozen=True)
class TwinModel:
    """The before/after network for fix assessment, with its variable names."""

    tree: JunctionTree
    layout: TwinLayout


class TwinTooLarge(TreeTooLarge):
    """A fix reaches so much of the pack that its twin would exceed the twin budget."""


class _MemoryCache:
    """Trees by key, least recently used out first once their arrays pass the memory budget.

    The API serves requests from a thread pool, so every access holds a lock: an eviction that
    iterates the trees while another request adds one would otherwise fail ("mutated during
    iteration", seen as a 500 under concurrent turns).
    """

    def __init__(self) -> None:
        self.trees: OrderedDict[str, JunctionTree] = OrderedDict()
        self.layouts: dict[str, TwinLayout] = {}
        self.lock = threading.Lock()

    def get(self, key: str) -> JunctionTree | None:
        with self.lock:
            tree = self.trees.get(key)
            if tree is not None:
                self.trees.move_to_end(key)
            return tree

    def put(self, key: str, tree: JunctionTree) -> None:
        budget = memory_budget()
        with self.lock:
            self.trees[key] = tree
            self.trees.move_to_end(key)
            held = sum(t.nbytes for t in self.trees.values())
            while held > budget and len(self.trees) > 1:
                old, evicted = self.trees.popitem(last=False)
                self.layouts.pop(old, None)
                held -= evicted.nbytes

    def layout(self, key: str) -> TwinLayout | None:
        with self.lock:
            return self.layouts.get(key)

    def put_layout(self, key: str, layout: TwinLayout) -> None:
        with self.lock:
            self.layouts[key] = layout

    def clear(self) -> None:
        with self.lock:
            self.trees.clear()
            self.layouts.clear()


_memory = _MemoryCache()


def clear_memory_cache() -> None:
    """Forget every tree held in memory (the disk cache stays)."""
    _memory.clear()


def _stem(kb: KnowledgeBase, kind: str, fixes: Sequence[str] = ()) -> str:
    identity = json.dumps([kb.id, kb.version_hash, MODEL_FORMAT, kind, list(fixes)])
    return f"{kind}-{hashlib.sha256(identity.encode()).hexdigest()[:32]}"


def _files(stem: str) -> list[Path]:
    base = cache_dir() / stem
    return [base.with_name(stem + suffix) for suffix in (".npz", ".json", ".layout.json")]


def _touch(paths: Sequence[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):  # a read-only cache only loses its recency
            os.utime(path)


def enforce_disk_budget(keep: Sequence[Path] = ()) -> None:
    """Delete the least recently used cache files until the folder is within its budget.

    ``keep`` (the entry just written or read) is never deleted, so the budget cannot undo the work
    of the call that enforced it.
    """
    directory = cache_dir()
    kept = {p.resolve() for p in keep}
    try:
        entries = [(p.stat().st_mtime, p.stat().st_size, p) for p in directory.iterdir()
                   if p.is_file() and p.name.startswith(CACHE_PREFIXES) and p.name.endswith(MODEL_SUFFIXES)]
    except OSError:
        return
    total = sum(size for _, size, _ in entries)
    budget = disk_budget()
    for _, size, path in sorted(entries, key=lambda e: e[0]):
        if total <= budget:
            break
        if path.resolve() in kept:
            continue
        try:
            path.unlink()
            total -= size
        except OSError:
            pass


def _tree(stem: str, build: Callable[[], DiscreteNetwork], max_entries: int | None = None,
          factorised: Callable[[DiscreteNetwork], list[str]] | None = None) -> JunctionTree:
    """From memory, from disk, or compiled afresh (and then saved)."""
    tree = _memory.get(stem)
    if tree is not None:
        return tree
    npz, structure, _ = _files(stem)
    if npz.is_file() and structure.is_file():
        try:
            tree = JunctionTree.load(cache_dir() / stem)
            _touch([npz, structure])
        except (OSError, ValueError, KeyError):
            tree = None  # a damaged cache entry is rebuilt, never trusted
    if tree is None:
        network = build()
        tree = JunctionTree.compile(network, max_entries=max_entries,
                                    factorised=factorised(network) if factorised is not None else ())
        try:
            cache_dir().mkdir(parents=True, exist_ok=True)
            tree.save(cache_dir() / stem)
            enforce_disk_budget(keep=[npz, structure])
        except OSError:
            pass  # a read-only cache only costs speed
    _memory.put(stem, tree)
    return tree


def inference_network(kb: KnowledgeBase) -> DiscreteNetwork:
    """The expert CPDs with ``learned.yaml`` laid over them: what diagnosis runs on.

    The version hash covers ``learned.yaml``, so learned and expert models never share a cache entry.
    Evaluation compiles the expert network itself, never this one.
    """
    from engine.learn.em import apply_learned
    from engine.model.compile import compile_network

    return apply_learned(kb, compile_network(kb))


def compiled_model(kb: KnowledgeBase) -> CompiledModel:
    """The compiled model for this KB version.

    The complaint is observed in every diagnosis and, as a noisy-OR of the symptom mechanisms, would
    marry them all into the tree's largest cliques; it is compiled out of the tree when its CPT
    allows (``engine.infer.junction_tree``), exactly, at two rows per evidence set.
    """
    complaint = kb.pack.complaint
    tree = _tree(_stem(kb, "model"), lambda: inference_network(kb),
                 factorised=lambda network: [complaint] if complaint and factorises(network, complaint) else [])
    return CompiledModel(kb.version_hash, tree)


def twin_model(kb: KnowledgeBase, steps: Sequence[Sequence[str]], observed: int = 0,
               outcomes: Sequence[str] | None = None) -> TwinModel:
    """The twin with one chained after-world per step of fixes: ``observed`` steps tried, then maybe
    a candidate.

    ``outcomes`` are the nodes whose after-world is needed (see ``build_twin``).

    Its layout is cached beside the tree as JSON, so a warm process neither rebuilds the twin
    network nor triangulates it. Raises :class:`TwinTooLarge` (remembered on disk) when its tree
    would pass ``ROOTWARD_TWIN_MAX_ENTRIES``.
    """
    wanted = "all" if outcomes is None else ",".join(sorted(outcomes))
    stem = _stem(kb, "twin", ["+".join(step) for step in steps] + [f"observed={observed}", f"outcomes={wanted}"])
    npz, _, layout_file = _files(stem)
    marker = layout_file.with_name(stem + ".too-large")
    if marker.is_file():
        _touch([marker])
        limit = twin_max_entries()
        entries = _read_int(marker)
        if entries > limit:
            raise TwinTooLarge(entries, limit)
    layout = _memory.layout(stem) or _read_layout(layout_file)
    if layout is None or (_memory.get(stem) is None and not npz.is_file()):
        from engine.model.twin import build_twin

        network, layout = build_twin(kb, inference_network(kb), steps, observed, outcomes)
        try:
            tree = _tree(stem, lambda: network, max_entries=twin_max_entries())
        except TreeTooLarge as exc:
            _write_text(marker, str(exc.entries))
            raise TwinTooLarge(exc.entries, exc.limit) from exc
        _write_text(layout_file, json.dumps(dataclasses.asdict(layout)))
    else:
        tree = _tree(stem, _unreachable)
        _touch([layout_file])
    _memory.put_layout(stem, layout)
    return TwinModel(tree=tree, layout=layout)


def _unreachable() -> DiscreteNetwork:
    raise RuntimeError("the cached twin tree vanished between two checks; run again")


def _read_int(path: Path) -> int:
    try:
        return int(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return 0


def _read_layout(path: Path) -> TwinLayout | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return TwinLayout(
            steps=tuple(tuple(step) for step in data["steps"]), complaint=data["complaint"],
            after_complaint=tuple(data["after_complaint"]), seen_complaint=tuple(data["seen_complaint"]),
            after_symptoms=tuple(data["after_symptoms"]), seen_symptoms=tuple(data["seen_symptoms"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_text(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError:
        pass  # a read-only cache only costs speed
