"""The frozen test split: about a third of the cases, fixed by their ids, that learning never sees.

Cross-validation alone flatters a pack whose cases and CPDs were written by the same people from the
same searches: every fold still scores cases the authors had in mind while tuning. The frozen split
is a rule on the case id alone, so it cannot drift with what the cases say or with what the pack
does on them:

    a case is in the test split  ⇔  SHA-256(case id, UTF-8)[0] mod 3 == 0

(86 of the 256 byte values: 33.6 % of ids.) The rule looks at nothing but the id, so a given id is
always on the same side, and adding, editing or removing a case never moves another case across.
Every path that learns from cases — EM (``engine.learn.em.training_set``, and so ``rootward learn``,
the UI's "Learn and preview" and every cross-validation fold) — drops test-split cases; evaluation
scores them once, under the model learned from the rest, and reports only their totals, never a
per-case list, so the pack is not tuned on them either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol, TypeVar

TEST_SPLIT_MODULUS = 3
SPLIT_RULE = "SHA-256(case id)[0] mod 3 == 0"


class HasId(Protocol):
    @property
    def id(self) -> str: ...


CaseLike = TypeVar("CaseLike", bound=HasId)


def in_test_split(case_id: str) -> bool:
    """Whether this case id belongs to the frozen test split (see the module docstring)."""
    return hashlib.sha256(case_id.encode("utf-8")).digest()[0] % TEST_SPLIT_MODULUS == 0


def split_cases(cases: Sequence[CaseLike]) -> tuple[list[CaseLike], list[CaseLike]]:
    """(learning split, frozen test split), each in the given order."""
    learning = [c for c in cases if not in_test_split(c.id)]
    test = [c for c in cases if in_test_split(c.id)]
    return learning, test
