"""Validated packs cached as JSON by content hash, so start-up skips YAML parsing and graph checks.

A cache entry is only ever read for the exact bytes it was made from (the key is the content hash),
and a damaged entry is ignored and rebuilt; the YAML stays the source of truth.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import ValidationError

from engine.errors import Problem
from engine.kb.knowledge import KnowledgeBase
from engine.kb.schema import Cause, Fix, IntakeFile, Mechanism, Pack, Question, ReplyCode, Signature

CACHE_ENV = "ROOTWARD_CACHE_DIR"
KB_FORMAT = 3


def cache_dir() -> Path:
    """Where compiled packs and models live: ``$ROOTWARD_CACHE_DIR`` or the user's cache folder."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rootward" / "models"


def _path(version_hash: str) -> Path:
    return cache_dir() / f"kb-{version_hash}-v{KB_FORMAT}.json"


def read_cached(directory: Path, version_hash: str) -> KnowledgeBase | None:
    path = _path(version_hash)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return KnowledgeBase(
            directory=directory,
            pack=Pack.model_validate(data["pack"]),
            causes={c["id"]: Cause.model_validate(c) for c in data["causes"]},
            mechanisms={m["id"]: Mechanism.model_validate(m) for m in data["mechanisms"]},
            questions={q["id"]: Question.model_validate(q) for q in data["questions"]},
            fixes={f["id"]: Fix.model_validate(f) for f in data["fixes"]},
            signatures={s["id"]: Signature.model_validate(s) for s in data["signatures"]},
            version_hash=version_hash,
            problems=[Problem(**p) for p in data["problems"]],
            intake=IntakeFile.model_validate(data["intake"]) if data.get("intake") is not None else None,
            reply_codes=[ReplyCode.model_validate(c) for c in data["reply_codes"]],
        )
    except (OSError, ValueError, KeyError, TypeError, ValidationError):
        return None


def write_cached(kb: KnowledgeBase) -> None:
    data = {
        "pack": kb.pack.model_dump(mode="json"),
        **{
            name: [item.model_dump(mode="json") for item in table.values()]
            for name, table in (("causes", kb.causes), ("mechanisms", kb.mechanisms), ("questions", kb.questions),
                                ("fixes", kb.fixes), ("signatures", kb.signatures))
        },
        "problems": [p.as_dict() for p in kb.problems],
        "intake": kb.intake.model_dump(mode="json") if kb.intake is not None else None,
        "reply_codes": [code.model_dump(mode="json") for code in kb.reply_codes],
    }
    path = _path(kb.version_hash)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(data), encoding="utf-8")
        temporary.replace(path)
    except OSError:
        pass  # a read-only cache only costs speed
