"""KB format v1: the pydantic models that a knowledge pack's YAML files must match.

The schema is strict (unknown fields are errors) because a misspelt field in a reviewed file would
otherwise silently fall back to a default and change the model without anyone noticing.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Role = Literal["helpdesk", "admin", "network"]
Status = Literal["experimental", "reviewed"]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
MAX_ACTION_MINUTES = 7 * 24 * 60
"""A week: no repair, outage or clean-up a pack describes takes longer; more is a typo (or an attack)."""
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
StateName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$", max_length=64)]

UNKNOWN_ANSWER = "unknown"
"""The answer id for "don't know": accepted everywhere, adds no evidence, never a modelled state."""

BINARY_STATES: tuple[str, str] = ("absent", "present")
ANSWER_STATES: tuple[str, str] = ("yes", "no")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Text(Strict):
    """Text in English (required) and Japanese; the incident's own users wrote Japanese."""

    en: str = Field(min_length=1)
    ja: str | None = None

    def get(self, lang: str) -> str:
        return (self.ja if lang == "ja" else None) or self.en


class BilingualText(Text):
    """Text that staff read directly, where a Japanese rendering is required."""

    ja: str = Field(min_length=1)


class Reference(Strict):
    title: str = Field(min_length=3)
    url: str | None = None
    section: str | None = None


class Provenance(Strict):
    """SigmaHQ-style review metadata: how sure we are and who stands behind the node."""

    status: Status = "experimental"
    author: str = Field(min_length=1)
    date: dt.date


class NoisyOrCpd(Strict):
    """P(on | parents) = 1 - (1 - leak) * prod(1 - weight_i for each parent that is on).

    A weight is P(effect | only this parent on); the leak is P(effect | no modelled parent on).
    """

    type: Literal["noisy_or"]
    parents: dict[Identifier, Probability] = Field(min_length=1)
    leak: Probability
    deterministic: bool = False


class NoisyAndCpd(Strict):
    """P(on | parents) = prod(weight_i if parent i is on else leak): every parent is needed.

    The leak is the chance that an absent conjunct is made good by something unmodelled.
    """

    type: Literal["noisy_and"]
    parents: dict[Identifier, Probability] = Field(min_length=2)
    leak: Probability
    deterministic: bool = False


class AllOfCpd(Strict):
    """P(on | all parents on) = strength; P(on | otherwise) = leak. The seed's lesson in one form."""

    type: Literal["all_of"]
    parents: list[Identifier] = Field(min_length=2)
    strength: Probability
    leak: Probability
    deterministic: bool = False


class TableRow(Strict):
    when: dict[Identifier, StateName]
    p: dict[StateName, Probability]


class TableCpd(Strict):
    """An explicit table: one row per combination of parent states (``default`` covers the rest)."""

    type: Literal["table"]
    parents: list[Identifier] = Field(default_factory=list)
    rows: list[TableRow] = Field(default_factory=list)
    default: dict[StateName, Probability] | None = None


Cpd = Annotated[NoisyOrCpd | NoisyAndCpd | AllOfCpd | TableCpd, Field(discriminator="type")]


class Node(Strict):
    id: Identifier
    provenance: Provenance
    references: list[Reference] = Field(min_length=1)


class Cause(Node):
    """A root cause: something someone can fix. Binary unless an imported network says otherwise."""

    title: BilingualText
    description: Text
    category: Identifier
    states: list[StateName] = Field(default_factory=lambda: list(BINARY_STATES), min_length=2)
    prior: Probability | None = None
    distribution: dict[StateName, Probability] | None = None
    prior_basis: str = Field(min_length=10)
    confirm: Text
    refines: Identifier | None = Field(
        default=None,
        description="the broader cause this one is a finer, actionable part of; the broader cause keeps its id "
        "and covers what its refinements do not, and a case confirmed as the broader cause counts a refinement",
    )

    @model_validator(mode="after")
    def _one_prior(self) -> Cause:
        if (self.prior is None) == (self.distribution is None):
            raise ValueError("give exactly one of 'prior' (binary causes) or 'distribution' (per state)")
        if self.prior is not None and tuple(self.states) != BINARY_STATES:
            raise ValueError("'prior' is for binary causes; use 'distribution' for other state sets")
        return self


class Mechanism(Node):
    """A hidden intermediate state: how causes combine on the way to symptoms."""

    title: Text
    description: Text
    states: list[StateName] = Field(default_factory=lambda: list(BINARY_STATES), min_length=2)
    cpd: Cpd
    basis: str = Field(min_length=10)


class Question(Node):
    """An observable symptom or test that staff or a chatbot can answer."""

    text: BilingualText
    short: Text
    how_to_check: Text
    answers: list[StateName] = Field(default_factory=lambda: list(ANSWER_STATES), min_length=2)
    cost_minutes: float = Field(gt=0, le=24 * 60)
    asked_by: list[Role] = Field(min_length=1)
    cpd: Cpd
    basis: str = Field(min_length=10)
    symptom: bool = Field(
        default=False,
        description="answering with the first answer reports the problem itself (a failure the user sees), "
        "which a fix has to make go away; tests and context questions are not symptoms",
    )

    @field_validator("answers")
    @classmethod
    def _no_unknown_state(cls, answers: list[str]) -> list[str]:
        if UNKNOWN_ANSWER in answers:
            raise ValueError(f"'{UNKNOWN_ANSWER}' means no evidence and is always allowed; do not list it")
        return answers


class Risk(Strict):
    reversible: bool
    downtime_minutes: float = Field(ge=0, le=MAX_ACTION_MINUTES)
    collateral_minutes: float = Field(ge=0, le=MAX_ACTION_MINUTES,
                                      description="expected minutes of repair for what it breaks")
    may_break: list[str] = Field(default_factory=list)
    text: Text


class Fix(Node):
    """A repair action (or a folklore fix): which causes it removes, at what cost and risk."""

    title: BilingualText
    description: Text
    removes: dict[Identifier, Probability] = Field(description="cause id -> effectiveness")
    cost_minutes: float = Field(gt=0, le=MAX_ACTION_MINUTES)
    who: list[Role] = Field(min_length=1)
    risk: Risk
    folklore: bool = False
    aliases: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    works_when: Text
    adds: dict[Identifier, Probability] = Field(
        default_factory=dict, description="causes the action can introduce (collateral)"
    )


class Signature(Node):
    """A log/bounce/tool-output pattern that answers a question, with what else produces it."""

    title: Text
    extractor: Identifier
    question: Identifier
    answer: StateName
    pattern: str = Field(min_length=1)
    reliability: Probability
    falsepositives: list[str] = Field(min_length=1)


SOFT_CODE_RELIABILITY = 0.75
"""The most a reply code alone may say: a code is chosen by whoever wrote the receiving software,
and the same code covers many faults, so code evidence is always soft (well below a hard 0.95)."""

REPLY_CODE = (
    r"^(?:[45][0-5]\d"  # RFC 5321 basic reply code
    r"|[45X]\.[0-7]\.\d{1,3}(?:-\d{1,3})?"  # RFC 3463 class.subject.detail, X = either class; -N: a range of details
    r"|(?:TSS|PH)\d{2}|S\d{3,5}|(?:SC|DY|OU)-\d{3})$"  # vendor tokens (Yahoo, Outlook.com)
)


class CodeAnswer(Strict):
    """The answer a reply code bears on, and how weakly."""

    question: Identifier
    answer: StateName
    reliability: float = Field(gt=0.0, le=SOFT_CODE_RELIABILITY)


class ReplyCode(Strict):
    """What an SMTP reply code, enhanced status code or vendor token says, with its source.

    ``text``, when given, is a phrase (matched case-insensitively) that the line must contain for
    this reading: vendors reuse registry codes with their own meaning (Microsoft's 5.4.1 "Relay
    Access Denied"), and the phrase tells their reading from the registry's. ``answers`` may be
    empty: a code known to bear on no question is still known, and keeps a broader code quiet.
    """

    id: Identifier
    code: str = Field(pattern=REPLY_CODE)
    meaning: str = Field(min_length=3)
    source: Identifier = Field(description="rfc, or the vendor whose documentation defines this reading")
    text: str | None = Field(default=None, min_length=3, max_length=120)
    answers: list[CodeAnswer] = Field(default_factory=list)
    references: list[Reference] = Field(min_length=1)


class ReplyCodesFile(Strict):
    codes: list[ReplyCode] = Field(default_factory=list)
    provenance: Provenance | None = None


class IdentifiabilityNote(Strict):
    """Why two causes that no question tells apart are kept as two nodes anyway.

    The identifiability check flags such pairs; when the pair is deliberate (they need the same fix, or
    the observation that separates them cannot be made from a helpdesk), the pack says so here and the
    warning turns into this documented note instead of being silenced by tuning numbers.
    """

    causes: list[Identifier] = Field(min_length=2, max_length=2)
    note: str = Field(min_length=20)


class Pack(Strict):
    id: Identifier
    title: BilingualText
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    description: Text
    complaint: Identifier | None = Field(
        default=None,
        description="the mechanism meaning 'the user's problem is present': observed present in every "
        "diagnosis, and the target of fix assessment",
    )
    intermittency: Identifier | None = Field(
        default=None, description="the question asking whether the problem comes and goes"
    )
    references: list[Reference] = Field(min_length=1)
    provenance: Provenance
    identifiability_notes: list[IdentifiabilityNote] = Field(
        default_factory=list,
        description="pairs of causes no question separates, each with the reason they stay separate nodes",
    )


class CausesFile(Strict):
    causes: list[Cause] = Field(min_length=1)


class MechanismsFile(Strict):
    mechanisms: list[Mechanism] = Field(default_factory=list)


class QuestionsFile(Strict):
    questions: list[Question] = Field(min_length=1)


class FixesFile(Strict):
    fixes: list[Fix] = Field(default_factory=list)


class SignaturesFile(Strict):
    signatures: list[Signature] = Field(default_factory=list)


IntakeKind = Literal["subject", "predicate", "negation", "predicate_negation", "hedge", "neutral"]


class IntakePhrases(Strict):
    """Cue phrases in each language. A plain English phrase matches its words with common endings
    (plural, past, -ing); a phrase starting ``re:`` is a regular expression that may name a macro as
    ``{name}``. Japanese phrases match as written (no word boundaries in Japanese)."""

    en: list[str] = Field(default_factory=list)
    ja: list[str] = Field(default_factory=list)


class IntakeTerm(Strict):
    """A concept that complaints name in many words: "attachments", "does arrive", "firewall"."""

    id: Identifier
    kind: IntakeKind = Field(
        default="subject",
        description="subject: what a clause talks about; predicate: what it says happened (the target of "
        "'no'/'nothing'); negation: flips the next term (English) or the previous one (Japanese); "
        "predicate_negation: flips the nearest predicate ('no mail arrives'); neutral: words consumed so "
        "that their parts do not count ('receiving side' is not 'received')",
    )
    phrases: IntakePhrases
    opposite: IntakePhrases = Field(
        default_factory=IntakePhrases, description="phrases that state the term negated ('fails' for 'arrives')"
    )
    carry: bool = Field(default=False, description="a later clause that names no such term inherits it")
    context: bool = Field(
        default=False, description="a clause naming this term without a carried subject takes the previous one's"
    )
    adverbial: bool = Field(
        default=False, description="a time or degree expression ('for five years', '5年間'): never what a "
        "negation flips, so that 設定変更は5年間なし negates the change, not the five years",
    )


IntakeCondition = Annotated[str, Field(pattern=r"^(not )?[a-z][a-z0-9_]*$")]


class IntakeRule(Strict):
    """One clause-level reading: when every ``when`` condition (and one ``when_any``, if listed) holds
    and no ``unless`` does, propose ``question=answer``. A condition is a term id (stated) or
    ``not <term>`` (stated negated); a clause saying both of one term decides neither. ``elsewhere``
    names what another clause of the same complaint must state as well, for questions that ask for
    two things the caller says apart ("nobody can send. Receiving is fine."). ``unless_sentence`` names
    what no other clause of the same sentence may state ("can't get into their mailboxes; Thunderbird
    just times out" is no login refusal). ``unless_elsewhere`` names what no other stated clause of the
    text may say all together: "files from my family come in fine" is not "attachments do not fail"
    when the same complaint says attachments from the professor never come."""

    question: Identifier
    answer: StateName
    when: list[IntakeCondition] = Field(min_length=1)
    when_any: list[IntakeCondition] = Field(default_factory=list)
    unless: list[IntakeCondition] = Field(default_factory=list)
    elsewhere: list[IntakeCondition] = Field(
        default_factory=list,
        description="conditions that must all hold together in one other stated clause of the same text",
    )
    unless_sentence: list[IntakeCondition] = Field(
        default_factory=list,
        description="conditions none of which may hold in another clause of the same sentence",
    )
    unless_elsewhere: list[IntakeCondition] = Field(
        default_factory=list,
        description="conditions that, all holding together in another stated clause of the text, block the rule",
    )
    priority: int = Field(default=0, ge=0, le=9,
                          description="on conflicting answers the higher wins; ties propose nothing")


class IntakeFile(Strict):
    """intake.yaml (optional): how a complaint in a person's own words maps to proposed answers."""

    provenance: Provenance
    references: list[Reference] = Field(min_length=1)
    basis: str = Field(min_length=10)
    checklist: list[Identifier] = Field(
        default_factory=list, description="the cheap symptom questions shown beside the complaint box, in order"
    )
    macros: dict[Identifier, str] = Field(default_factory=dict, description="regex fragments for re: phrases")
    terms: list[IntakeTerm] = Field(min_length=1)
    rules: list[IntakeRule] = Field(min_length=1)


PACK_FILES: dict[str, type[Strict]] = {
    "pack.yaml": Pack,
    "causes.yaml": CausesFile,
    "mechanisms.yaml": MechanismsFile,
    "questions.yaml": QuestionsFile,
    "fixes.yaml": FixesFile,
    "signatures.yaml": SignaturesFile,
    "intake.yaml": IntakeFile,
    "reply_codes.yaml": ReplyCodesFile,
}
REQUIRED_FILES = ("pack.yaml", "causes.yaml", "questions.yaml")
