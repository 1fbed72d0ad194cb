"""A validated knowledge pack with its indexes: what every layer above the loader works with."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import Problem
from engine.kb.schema import Cause, Fix, IntakeFile, Mechanism, Pack, Question, ReplyCode, Signature

GraphNode = Cause | Mechanism | Question


@dataclass
class KnowledgeBase:
    """The pack's content, keyed by id, plus the content hash that identifies this version."""

    directory: Path
    pack: Pack
    causes: dict[str, Cause]
    mechanisms: dict[str, Mechanism]
    questions: dict[str, Question]
    fixes: dict[str, Fix]
    signatures: dict[str, Signature]
    version_hash: str
    problems: list[Problem] = field(default_factory=list)
    intake: IntakeFile | None = None
    """intake.yaml: cue phrases for reading a complaint; None when the pack has none."""
    reply_codes: list[ReplyCode] = field(default_factory=list)
    """What SMTP reply codes say (``reply_codes.yaml``): soft evidence under the signatures."""

    @property
    def id(self) -> str:
        return self.pack.id

    def node(self, node_id: str) -> GraphNode:
        for table in (self.causes, self.mechanisms, self.questions):
            if node_id in table:
                return table[node_id]
        raise KeyError(node_id)

    def states(self, node_id: str) -> list[str]:
        node = self.node(node_id)
        return list(node.answers) if isinstance(node, Question) else list(node.states)

    def parents(self, node_id: str) -> list[str]:
        node = self.node(node_id)
        if isinstance(node, Cause):
            return []
        cpd = node.cpd
        return list(cpd.parents)

    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def on_state(states: list[str] | tuple[str, ...]) -> str | None:
    """The state that canonical CPDs (noisy-OR, all-of) switch on, for a binary node."""
    if len(states) != 2:
        return None
    for candidate in ("present", "yes"):
        if candidate in states:
            return candidate
    return None
