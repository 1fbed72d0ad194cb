"""Resolved troubleshooting cases: YAML files on disk, and checks against a pack.

The schema itself is ``engine.case_schema``, shared with the store.

A case is what learning and evaluation stand on, so it is validated as strictly as the pack itself:
an unknown question, answer or cause is an error that names the file, the line, the field and the
valid ids, because a silently dropped answer would quietly change what the model learns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from engine import bundled
from engine.case_schema import Case, CaseAnswer, CaseSource, FixAttempt
from engine.errors import CaseError, CaseProblem
from engine.inputs import MAX_CASE_FILE_BYTES, InputFileError, decode_utf8, read_regular_file
from engine.kb.knowledge import KnowledgeBase
from engine.kb.loader import SourceMap
from engine.kb.schema import UNKNOWN_ANSWER

CASE_SUFFIXES = (".yaml", ".yml")


def credited_causes(confirmed: Sequence[str], refines: Mapping[str, str | None]) -> frozenset[str]:
    """The confirmed causes and every cause whose chain of ``refines`` reaches one of them.

    ``refines`` maps a cause to the broader cause it declares (``Cause.refines``). A case written
    before a broad cause was split names the broad one; the finer cause that now leads is the same
    diagnosis, only more precise, so it counts (the rule the issue sets for grading).
    """
    credited = set(confirmed)
    for cause in refines:
        current, seen = refines.get(cause), {cause}
        while current is not None and current not in seen:
            if current in confirmed:
                credited.add(cause)
                break
            seen.add(current)
            current = refines.get(current)
    return frozenset(credited)


def top_k_hit(case: Case, ranked_causes: Sequence[str], k: int,
              refines: Mapping[str, str | None] | None = None) -> bool:
    """A top-k hit: a confirmed cause, or a cause that refines one (see :func:`credited_causes`),
    ranks within the first k."""
    credited = credited_causes(case.confirmed_causes, refines or {})
    return any(cause in credited for cause in ranked_causes[:k])


def refinement_map(kb: KnowledgeBase) -> dict[str, str | None]:
    """Each cause of ``kb`` with the broader cause it refines (``None`` when it refines none)."""
    return {cause_id: cause.refines for cause_id, cause in kb.causes.items()}


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
