"""Compile each KB version once, and keep the result on disk by content hash.

The junction tree is stored as numpy ``.npz`` plus JSON (never pickle: a cache file must not be
able to run code), so a later process skips triangulation and never imports networkx.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.infer.junction_tree import JunctionTree
from engine.kb.knowledge import KnowledgeBase

CACHE_ENV = "ROOTWARD_CACHE_DIR"


@dataclass(frozen=True)
class CompiledModel:
    """A KB version's inference structure, shared by ranking, next question and fix assessment."""

    version_hash: str
    tree: JunctionTree


_memory: dict[tuple[str, str], CompiledModel] = {}


def cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rootward" / "models"


def compiled_model(kb: KnowledgeBase) -> CompiledModel:
    """The compiled model for this KB version, from memory, disk, or a fresh compile."""
    key = (kb.id, kb.version_hash)
    if key in _memory:
        return _memory[key]
    stem = cache_dir() / f"{kb.id}-{kb.version_hash}"
    tree: JunctionTree | None = None
    if stem.with_suffix(".npz").is_file() and stem.with_suffix(".json").is_file():
        try:
            tree = JunctionTree.load(stem)
        except (OSError, ValueError, KeyError):
            tree = None  # a damaged cache entry is rebuilt, never trusted
    if tree is None:
        from engine.model.compile import compile_network

        tree = JunctionTree.compile(compile_network(kb))
        try:
            stem.parent.mkdir(parents=True, exist_ok=True)
            tree.save(stem)
        except OSError:
            pass  # a read-only cache only costs speed
    model = CompiledModel(version_hash=kb.version_hash, tree=tree)
    _memory[key] = model
    return model
