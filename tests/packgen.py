"""Random but valid knowledge packs, written as files, for property and brute-force tests."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

META = {"status": "experimental", "author": "Rootward tests", "date": "2026-11-28"}
REFS = [{"title": "generated for tests", "url": "https://example.org/test"}]


def _node(node_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": node_id, "references": REFS, "provenance": META, **fields}


def write_random_pack(directory: Path, n_causes: int, n_questions: int, seed: int) -> Path:
    """Causes feed two noisy-OR mechanisms and an all-of; every cause reaches a question."""
    rng = random.Random(seed)
    causes = [f"c{i}" for i in range(n_causes)]
    mechanisms = [
        _node("m_any", title={"en": "any"}, description={"en": "noisy-or"}, basis="generated for tests",
              cpd={"type": "noisy_or", "parents": {c: round(rng.uniform(0.2, 0.9), 3) for c in causes[: n_causes // 2]},
                   "leak": 0.02}),
        _node("m_both", title={"en": "both"}, description={"en": "all-of"}, basis="generated for tests",
              cpd={"type": "all_of", "parents": causes[-2:], "strength": 0.9, "leak": 0.03}),
        _node("problem", title={"en": "problem"}, description={"en": "complaint"}, basis="generated for tests",
              cpd={"type": "noisy_or", "parents": {"m_any": 0.9, "m_both": 0.8}, "leak": 0.1}),
    ]
    parents_pool = [*causes, "m_any", "m_both"]
    questions = []
    for j in range(n_questions):
        k = rng.randint(1, 3)
        picked = rng.sample(parents_pool, k)
        if j < n_causes:
            picked = list(dict.fromkeys([causes[j], *picked]))
        questions.append(
            _node(f"q{j}", text={"en": f"question {j}", "ja": f"質問 {j}"}, short={"en": f"q{j}?"},
                  how_to_check={"en": "look"}, cost_minutes=rng.choice([1, 2, 5, 10, 30]),
                  asked_by=[rng.choice(["helpdesk", "admin", "network"])], basis="generated for tests",
                  cpd={"type": "noisy_or", "parents": {p: round(rng.uniform(0.3, 0.95), 3) for p in picked},
                       "leak": round(rng.uniform(0.01, 0.1), 3)})
        )
    cause_nodes = [
        _node(c, title={"en": c, "ja": c}, description={"en": c}, category="test",
              prior=round(rng.uniform(0.02, 0.3), 3), prior_basis="generated for tests", confirm={"en": "check"})
        for c in causes
    ]
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "pack.yaml": {"id": "random_pack", "title": {"en": "random", "ja": "ランダム"}, "version": "0.0.1",
                      "description": {"en": "generated"}, "complaint": "problem", "references": REFS,
                      "provenance": META},
        "causes.yaml": {"causes": cause_nodes},
        "mechanisms.yaml": {"mechanisms": mechanisms},
        "questions.yaml": {"questions": questions},
    }
    for name, content in files.items():
        (directory / name).write_text(json.dumps(content, ensure_ascii=False, indent=1), encoding="utf-8")
    return directory
