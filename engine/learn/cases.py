"""Resolved troubleshooting cases: the schema, YAML files on disk, and checks against a pack.

A case is what learning and evaluation stand on, so it is validated as strictly as the pack itself:
an unknown question, answer or cause is an error that names the file, the line, the field and the
valid ids, because a silently dropped answer would quietly change what the model learns.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from engine import bundled
from engine.inputs import MAX_CASE_FILE_BYTES, InputFileError, decode_utf8, read_regular_file
from engine.kb.knowledge import KnowledgeBase
from engine.kb.loader import SourceMap
from engine.kb.schema import UNKNOWN_ANSWER

CaseStatus = Literal["draft", "reviewed"]
AnswerProvenance = Literal["typed", "extracted", "imported"]
FixOutcome = Literal["persisted", "stopped", "unclear"]
SourceKind = Literal["ticket", "public_report"]
EvidenceMapping = Literal["blind", "authored"] | None
CaseId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=128)]
KbHash = Annotated[str, Field(pattern=r"^[0-9a-f]{8,64}$")]
CASE_SUFFIXES = (".yaml", ".yml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class CaseAnswer(_Strict):
    """One answer with where it came from: typed by staff, extracted from a log line, or imported."""

    answer: str = Field(min_length=1)
    provenance: AnswerProvenance = "typed"
    source_line: str | None = None


class FixAttempt(_Strict):
    """A fix that was applied, and whether the problem persisted, stopped, or it is unclear."""

    fix: str = Field(min_length=1)
    outcome: FixOutcome


class CaseSource(_Strict):
    """Where the case comes from. Public reports are hand-picked, so they never set base rates."""

    kind: SourceKind
    reference: str = Field(min_length=3)

    @model_validator(mode="after")
    def _public_reports_link(self) -> CaseSource:
        if self.kind == "public_report" and not self.reference.startswith(("https://", "http://")):
            raise ValueError("a public report's reference must be its http(s) URL")
        return self


class Case(_Strict):
    """A resolved case: the evidence that was seen, the causes that were confirmed, what was tried."""

    id: CaseId
    pack: str = Field(min_length=1)
    kb_hash: KbHash
    title: str | None = None
    status: CaseStatus = "draft"
    source: CaseSource
    author: str = Field(min_length=1)
    created: dt.datetime
    updated: dt.datetime
    evidence: dict[str, CaseAnswer] = Field(default_factory=dict)
    confirmed_causes: list[str] = Field(default_factory=list)
    unmodelled_cause: str | None = Field(
        default=None, min_length=3,
        description="the confirmed root cause in words, when the pack has no node for it (coverage)")
    causes_complete: bool = False
    fixes_tried: list[FixAttempt] = Field(default_factory=list)
    resolution: str = ""
    mapped: EvidenceMapping = Field(
        default=None, description="how the evidence was written: 'blind' (from the report and the question list "
                                  "only, never a ranking) or 'authored' (by someone who also saw rankings)")
    mapped_on: dt.date | None = Field(default=None, description="when the evidence was mapped")

    @field_validator("evidence", mode="before")
    @classmethod
    def _short_answers(cls, value: Any) -> Any:
        """``question: yes`` is accepted as shorthand for ``{answer: yes, provenance: typed}``."""
        if isinstance(value, dict):
            return {k: ({"answer": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value

    @field_validator("created", "updated")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        """Timestamps are stored in UTC; a naive time is taken to be UTC rather than local time."""
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)

    @model_validator(mode="after")
    def _distinct_causes(self) -> Case:
        if len(set(self.confirmed_causes)) != len(self.confirmed_causes):
            raise ValueError("a cause is listed twice in confirmed_causes")
        if not self.confirmed_causes and self.unmodelled_cause is None:
            raise ValueError("a resolved case needs confirmed_causes, or unmodelled_cause when the pack has no "
                             "node for the root cause")
        return self

    @property
    def covered(self) -> bool:
        """Whether the pack has a node for a confirmed cause (else only ``unmodelled_cause`` names it)."""
        return bool(self.confirmed_causes)

    def answers(self) -> dict[str, str]:
        """The hard answers, with ``unknown`` (no evidence) dropped."""
        return {q: a.answer for q, a in self.evidence.items() if a.answer != UNKNOWN_ANSWER}

    def absent_causes(self, all_causes: Iterable[str]) -> set[str]:
        """Causes known to be absent: every unlisted cause when the list is complete, else none."""
        if not self.causes_complete:
            return set()
        return {c for c in all_causes if c not in self.confirmed_causes}

    def content_digest(self) -> str:
        """A hash of what the case says, ignoring its review status and 'updated' stamp.

        Re-importing an unchanged file is then a no-op even after the case was reviewed in the
        database; any change of substance makes the digest differ.
        """
        payload = self.model_dump(mode="json", exclude={"status", "updated"})
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def to_document(self) -> dict[str, Any]:
        """The YAML/JSON document of the case, with ``None`` fields left out."""
        return self.model_dump(mode="json", exclude_none=True)


def top_k_hit(case: Case, ranked_causes: Sequence[str], k: int,
              refines: Mapping[str, str | None] | None = None) -> bool:
    """A top-k hit: a confirmed cause, or a cause that refines one, ranks within the first k.

    ``refines`` maps a cause to the broader cause it declares (``Cause.refines``). A case written
    before a broad cause was split names the broad one; the finer cause that now leads is the same
    diagnosis, only more precise, so it counts (the rule the issue sets for grading).
    """
    confirmed = set(case.confirmed_causes)
    for cause in ranked_causes[:k]:
        seen: set[str] = set()
        current: str | None = cause
        while current is not None and current not in seen:
            if current in confirmed:
                return True
            seen.add(current)
            current = (refines or {}).get(current)
    return False


def refinement_map(kb: KnowledgeBase) -> dict[str, str | None]:
    """Each cause of ``kb`` with the broader cause it refines (``None`` when it refines none)."""
    return {cause_id: cause.refines for cause_id, cause in kb.causes.items()}


@dataclass(frozen=True)
class CaseProblem:
    """One reason a case cannot be used, located precisely enough to fix without searching."""

    file: str
    line: int | None
    field: str
    message: str
    valid: list[str] = dataclasses.field(default_factory=list)

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        shown = ""
        if self.valid:
            listed = ", ".join(self.valid[:40])
            shown = f"; valid: {listed}" + (", …" if len(self.valid) > 40 else "")
        return f"{where} [{self.field}]: {self.message}{shown}"

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message,
                "valid": self.valid}


class CaseError(ValueError):
    """Raised with every problem of one or more cases; the first one is the message."""

    def __init__(self, problems: list[CaseProblem]) -> None:
        self.problems = problems
        extra = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        super().__init__((problems[0].render() if problems else "invalid case") + extra)


@dataclass(frozen=True)
class LoadedCase:
    """A case read from a file, with the source map that turns field paths into lines."""

    case: Case
    file: str
    source: SourceMap | None = None

    def line(self, path: Sequence[str | int]) -> int | None:
        return self.source.line_of(path) if self.source is not None else None


def parse_case(text: str, file: str) -> LoadedCase:
    """Parse and schema-check one case document; every failure is a located ``CaseError``.

    The pack loader's YAML reader is used: YAML 1.2 booleans (so ``yes``/``no`` stay answers, not
    booleans), duplicate keys refused, and a line for every key, from libyaml's fast parser.
    """
    import yaml

    from engine.kb import yaml_lines

    if len(text) > MAX_CASE_FILE_BYTES:
        raise CaseError([CaseProblem(file, None, "", f"the case is {len(text)} characters; a case may have at most "
                                     f"{MAX_CASE_FILE_BYTES} (shorten pasted logs to the lines that matter)")])
    try:
        document = yaml_lines.load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise CaseError([CaseProblem(file, line, "", f"invalid YAML: {(exc.problem or '').strip()}")]) from exc
    except yaml.YAMLError as exc:
        raise CaseError([CaseProblem(file, None, "", f"invalid YAML: {exc}")]) from exc
    if not isinstance(document, dict):
        fields = list(Case.model_fields)
        raise CaseError([CaseProblem(file, 1, "", "a case file must be a YAML mapping", fields)])
    source = SourceMap(file, document)
    try:
        case = Case.model_validate(document)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [p for p in err["loc"] if isinstance(p, str | int)]
            path = ".".join(str(p) for p in loc)
            valid: list[str] = []
            if err["type"] == "extra_forbidden":
                message = f"unknown field '{loc[-1]}'"
                valid = _fields_at(loc[:-1])
            elif err["type"] == "missing":
                message = f"missing required field '{loc[-1]}'"
            else:
                message = f"{err['msg']} (got {err.get('input')!r:.80})"
            problems.append(CaseProblem(file, source.line_of(loc), path or "(case)", message, valid))
        raise CaseError(problems) from exc
    return LoadedCase(case, file, source)


def _fields_at(loc: Sequence[str | int]) -> list[str]:
    models: dict[str, type[BaseModel]] = {"evidence": CaseAnswer, "fixes_tried": FixAttempt, "source": CaseSource}
    names = [p for p in loc if isinstance(p, str)]
    model: type[BaseModel] = models.get(names[0], Case) if names else Case
    return list(model.model_fields)


def read_case_file(path: Path) -> LoadedCase:
    try:
        text = decode_utf8(read_regular_file(path, MAX_CASE_FILE_BYTES, "case file"), path, "case file")
    except InputFileError as exc:
        line = exc.details.get("line")
        raise CaseError([CaseProblem(str(path), line if isinstance(line, int) else None, "", str(exc))]) from exc
    return parse_case(text, str(path))


def case_files(directory: Path) -> list[Path]:
    """The case files of a directory, sorted so that imports and folds are reproducible."""
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in CASE_SUFFIXES)


def check_case(kb: KnowledgeBase, loaded: LoadedCase) -> list[CaseProblem]:
    """Every reference of the case checked against the pack: questions, answers, causes, fixes."""
    case, file = loaded.case, loaded.file
    problems: list[CaseProblem] = []

    def add(path: list[str | int], message: str, valid: Iterable[str] = ()) -> None:
        problems.append(CaseProblem(file, loaded.line(path), ".".join(str(p) for p in path), message,
                                    sorted(valid) if not isinstance(valid, list) else valid))

    if case.pack != kb.id:
        add(["pack"], f"case is for pack '{case.pack}', not '{kb.id}'", [kb.id])
    for question, item in case.evidence.items():
        if question not in kb.questions:
            add(["evidence", question], f"unknown question '{question}'", set(kb.questions))
            continue
        answers = list(kb.questions[question].answers)
        if item.answer != UNKNOWN_ANSWER and item.answer not in answers:
            add(["evidence", question, "answer"], f"'{item.answer}' is not an answer to '{question}'",
                [*answers, UNKNOWN_ANSWER])
    for i, cause in enumerate(case.confirmed_causes):
        if cause not in kb.causes:
            add(["confirmed_causes", i], f"unknown cause '{cause}'", set(kb.causes))
    for i, attempt in enumerate(case.fixes_tried):
        if attempt.fix not in kb.fixes:
            add(["fixes_tried", i, "fix"], f"unknown fix '{attempt.fix}'", set(kb.fixes))
    return problems


def load_cases(kb: KnowledgeBase, paths: Iterable[Path]) -> list[LoadedCase]:
    """Read and check many case files; raises one ``CaseError`` listing every problem in all of them.

    Reporting everything at once matters for imports: an author fixing a directory of cases wants
    the whole list, and nothing is written until every case is valid.
    """
    loaded: list[LoadedCase] = []
    problems: list[CaseProblem] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            item = read_case_file(path)
        except CaseError as exc:
            problems.extend(exc.problems)
            continue
        problems.extend(check_case(kb, item))
        if item.case.id in seen:
            problems.append(CaseProblem(item.file, item.line(["id"]), "id",
                                        f"case id '{item.case.id}' is also used by {seen[item.case.id]}"))
        seen[item.case.id] = item.file
        loaded.append(item)
    if problems:
        raise CaseError(problems)
    return loaded


def load_case_dir(kb: KnowledgeBase, directory: Path) -> list[Case]:
    """All cases of a directory, checked against the pack."""
    if not directory.is_dir():
        raise CaseError([CaseProblem(str(directory), None, "", "no such case directory")])
    return [item.case for item in load_cases(kb, case_files(directory))]


def case_yaml(case: Case) -> str:
    """The case as a YAML document, in field order, as ``cases export`` writes it."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 100
    buffer = io.StringIO()
    yaml.dump(case.to_document(), buffer)
    return buffer.getvalue()


def default_case_dir(pack: str) -> Path:
    """The bundled reviewed cases of a pack: ``data/cases/<pack>/`` in the source tree, shipped in the wheel."""
    return bundled.cases_dir() / pack
