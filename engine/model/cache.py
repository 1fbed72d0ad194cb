"""Compile each KB version once, and keep the result on disk by content hash.

Junction trees are stored as numpy ``.npz`` plus JSON (never pickle: a cache file must not be able
to run code), so a later process skips triangulation and never imports networkx.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.infer.junction_tree import JunctionTree
from engine.kb.kbcache import cache_dir
from engine.kb.knowledge import KnowledgeBase
from engine.model.network import DiscreteNetwork
from engine.model.twin import TwinLayout

MODEL_FORMAT = 4
"""Bump when the compiled structure changes for the same KB (e.g. a new decomposition)."""


@dataclass(frozen=True)
class CompiledModel:
    """A KB version's inference structure, shared by ranking, next question and fix assessment."""

    version_hash: str
    tree: JunctionTree


@dataclass(frozen=True)
class TwinModel:
    """The before/after network for fix assessment and fix attempts, with its variable names."""

    tree: JunctionTree
    layout: TwinLayout


_trees: dict[str, JunctionTree] = {}
_twins: dict[str, TwinModel] = {}


def _tree(stem_name: str, build: Callable[[], DiscreteNetwork]) -> JunctionTree:
    """From memory, from disk, or compiled afresh (and then saved)."""
    if stem_name in _trees:
        return _trees[stem_name]
    stem = cache_dir() / stem_name
    tree: JunctionTree | None = None
    if stem.with_suffix(".npz").is_file() and stem.with_suffix(".json").is_file():
        try:
            tree = JunctionTree.load(stem)
        except (OSError, ValueError, KeyError):
            tree = None  # a damaged cache entry is rebuilt, never trusted
    if tree is None:
        tree = JunctionTree.compile(build())
        try:
            stem.parent.mkdir(parents=True, exist_ok=True)
            tree.save(stem)
        except OSError:
            pass  # a read-only cache only costs speed
    _trees[stem_name] = tree
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
    """The compiled model for this KB version."""
    tree = _tree(f"{kb.id}-{kb.version_hash}-v{MODEL_FORMAT}", lambda: inference_network(kb))
    return CompiledModel(kb.version_hash, tree)


def twin_model(kb: KnowledgeBase, fixes: Sequence[str], observed: int = 0) -> TwinModel:
    """The twin with one chained after-world per fix: ``observed`` fixes tried, then maybe a candidate.

    Its layout is cached beside the tree as JSON, so a warm process neither rebuilds the twin
    network nor triangulates it.
    """
    key = f"{kb.id}-{kb.version_hash}-v{MODEL_FORMAT}-twin-{'+'.join(fixes)}-{observed}"
    if key in _twins:
        return _twins[key]
    layout_file = cache_dir() / f"{key}.layout.json"
    layout = _read_layout(layout_file)
    if layout is None or (key not in _trees and not (cache_dir() / f"{key}.npz").is_file()):
        from engine.model.twin import build_twin

        network, layout = build_twin(kb, inference_network(kb), fixes, observed)
        _trees.pop(key, None)
        tree = _tree(key, lambda: network)
        _write_layout(layout_file, layout)
    else:
        tree = _tree(key, _unreachable)
    model = TwinModel(tree=tree, layout=layout)
    _twins[key] = model
    return model


def _unreachable() -> DiscreteNetwork:
    raise RuntimeError("the cached twin tree vanished between two checks; run again")


def _read_layout(path: Path) -> TwinLayout | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return TwinLayout(
            fixes=tuple(data["fixes"]), complaint=data["complaint"],
            after_complaint=tuple(data["after_complaint"]), seen_complaint=tuple(data["seen_complaint"]),
            after_symptoms=tuple(data["after_symptoms"]), seen_symptoms=tuple(data["seen_symptoms"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_layout(path: Path, layout: TwinLayout) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(dataclasses.asdict(layout)), encoding="utf-8")
    except OSError:
        pass  # a read-only cache only costs speed
