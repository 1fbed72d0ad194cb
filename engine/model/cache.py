"""Compile each KB version once, and keep the result on disk by content hash.

Junction trees are stored as numpy ``.npz`` plus JSON (never pickle: a cache file must not be able
to run code), so a later process skips triangulation and never imports networkx.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.infer.junction_tree import JunctionTree
from engine.kb.knowledge import KnowledgeBase
from engine.model.network import DiscreteNetwork
from engine.model.twin import TwinLayout

CACHE_ENV = "ROOTWARD_CACHE_DIR"
MODEL_FORMAT = 3
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


def cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rootward" / "models"


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


def network_digest(network: DiscreteNetwork) -> str:
    """A short hash of a network's structure and numbers."""
    digest = hashlib.sha256()
    for variable in network.variables.values():
        digest.update(repr((variable.name, variable.states, variable.parents)).encode())
        digest.update(variable.cpt.tobytes())
    return digest.hexdigest()[:12]


def compiled_model(kb: KnowledgeBase) -> CompiledModel:
    """The compiled model for this KB version."""

    def build() -> DiscreteNetwork:
        from engine.model.compile import compile_network

        return compile_network(kb)

    return CompiledModel(kb.version_hash, _tree(f"{kb.id}-{kb.version_hash}-v{MODEL_FORMAT}", build))


def twin_model(kb: KnowledgeBase, fixes: Sequence[str], observed: int = 0) -> TwinModel:
    """The twin with one chained after-world per fix: ``observed`` fixes tried, then maybe a candidate."""
    key = f"{kb.id}-{kb.version_hash}-v{MODEL_FORMAT}-twin-{'+'.join(fixes)}-{observed}"
    if key in _twins:
        return _twins[key]
    from engine.model.compile import compile_network
    from engine.model.twin import build_twin

    network, layout = build_twin(kb, compile_network(kb), fixes, observed)
    # the twin is rebuilt anyway (its layout is needed), so key its tree by what it contains
    model = TwinModel(tree=_tree(f"{key}-{network_digest(network)}", lambda: network), layout=layout)
    _twins[key] = model
    return model
