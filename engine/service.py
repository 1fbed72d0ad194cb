"""The façade every face (CLI, HTTP API, MCP tools, Streamlit UI) calls.

Faces deal in plain ids and JSON-ready pydantic models; the service loads and caches knowledge
packs by content hash, validates evidence, and calls the reasoning core. It never imports a web
framework, so the core stays testable without one, and never the store, so a stateless turn
(``rootward rank``, ``POST /v1/diagnose``) does not load SQLAlchemy. What needs the store is the
rest of the service layer: ``engine.sessions`` (diagnoses in progress) and ``engine.records``
(cases, keys, audit log). Faces import nothing below these three, their contracts and
``engine.errors`` (``tests/test_layers.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, Field

from engine.contracts import (
    ENOUGH_EVIDENCE_DESCRIPTION,
    UNMODELLED_DESCRIPTION,
    ActionOut,
    ArtifactsOut,
    AssessOut,
    CauseOut,
    CombinationOut,
    EvaluationOut,
    ExtractOut,
    FindingOut,
    FixView,
    KbRef,
    LearnPreviewOut,
    NextOut,
    NodeDetailsOut,
    PackFindingsOut,
    PackView,
    QuestionOut,
    QuestionView,
    RankOut,
    ReferenceOut,
    SoftOut,
    UnmatchedOut,
    WeightOut,
    assess_out,
    kb_ref,
    next_out,
    not_in_kb_out,
    rank_out,
)
from engine.errors import EvidenceError, KbError, Problem
from engine.inputs import read_prefix
from engine.kb.knowledge import KnowledgeBase
from engine.kb.loader import bundled_pack_names, content_hash, resolve_pack_dir
from engine.kb.schema import Cause, Mechanism, Question
from engine.reason.evidence import Evidence, SoftAnswer, build_evidence, check_answer, check_question, check_tried
from engine.reason.fixes import ActionScore, recommended_actions
from engine.reason.questions import DEFAULT_OBJECTIVE, DEFAULT_STOP_PROBABILITY, OBJECTIVES, Objective, StopPolicy
from engine.reason.uncertainty import assess_uncertainty

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from engine.case_schema import Case
    from engine.evidence import Extraction
    from engine.reason.ranking import CausePosterior


def describe(kb: KnowledgeBase, lang: str) -> dict[str, Any]:
    """Every id, text and answer of a pack, for chatbot integrators and `kb show`."""
    return {
        "kb": {"id": kb.id, "version": kb.pack.version, "hash": kb.version_hash, "title": kb.pack.title.get(lang)},
        "causes": [
            {"id": c.id, "title": c.title.get(lang), "category": c.category, "prior": c.prior,
             "description": c.description.get(lang), "confirm": c.confirm.get(lang), "refines": c.refines}
            for c in kb.causes.values()
        ],
        "questions": [
            {"id": q.id, "text": q.text.get(lang), "short": q.short.get(lang), "answers": [*q.answers, "unknown"],
             "cost_minutes": q.cost_minutes, "asked_by": q.asked_by, "how_to_check": q.how_to_check.get(lang)}
            for q in kb.questions.values()
        ],
        "fixes": [
            {"id": f.id, "title": f.title.get(lang), "removes": f.removes, "cost_minutes": f.cost_minutes,
             "folklore": f.folklore}
            for f in kb.fixes.values()
        ],
    }


class DiagnoseOut(BaseModel):
    """A stateless turn for chatbots: the same names and shapes as ``rank`` and ``next`` JSON."""

    kb: dict[str, str]
    causes: list[CauseOut]
    combinations: list[CombinationOut]
    explanations: dict[str, list[WeightOut]] = Field(default_factory=dict)
    questions: list[QuestionOut]
    handoff: list[QuestionOut] = Field(default_factory=list)
    stop: bool
    stop_reason: str = ""
    recommended_actions: list[ActionOut]
    unmodelled_probability: float | None = Field(default=None, description=UNMODELLED_DESCRIPTION)
    enough_evidence: bool = Field(default=False, description=ENOUGH_EVIDENCE_DESCRIPTION)
    stop_details: str = ""
    objective: str = "decision"


class IntakeAnswerOut(BaseModel):
    """An answer proposed from the complaint; it counts only once the person confirms it."""

    question: str
    answer: str
    matched: str = Field(description="the exact words of the complaint the answer was read from")


class IntakeOut(BaseModel):
    """``rootward intake`` / ``POST /v1/intake``: proposed answers and the clauses that gave none."""

    kb: KbRef
    answers: list[IntakeAnswerOut]
    unmatched: list[str]


class ChecklistItemOut(BaseModel):
    id: str
    text: str
    answers: list[str]


@dataclass(frozen=True)
class PackCheck:
    """What ``validate`` found: every problem, and the pack's id, hash and size when it is usable."""

    problems: list[Problem]
    id: str | None = None
    hash: str | None = None
    size: dict[str, int] | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def read_artifact(path: Path) -> str:
    """A user's artifact file as text, bounded to the extractor's input limit; bad bytes become U+FFFD."""
    from engine.evidence import MAX_INPUT_CHARS

    return read_prefix(path, MAX_INPUT_CHARS, "artifact").decode("utf-8", errors="replace")


@dataclass
class Service:
    """Caches each pack by directory and content hash; a changed pack is reloaded, never mixed."""

    packs: dict[Path, KnowledgeBase] = field(default_factory=dict)
    objectives: ClassVar[tuple[str, ...]] = OBJECTIVES
    """What ``next`` and ``diagnose`` can make the questions' gain about."""

    def kb(self, pack: str) -> KnowledgeBase:
        """The loaded pack, for the service layer itself; faces read it through ``pack_view`` and the rest."""
        from engine.kb.validate import load_kb

        directory = resolve_pack_dir(pack).resolve()
        cached = self.packs.get(directory)
        if cached is not None and cached.version_hash == content_hash(directory):
            return cached
        kb = load_kb(directory)
        self.packs[directory] = kb
        return kb

    @staticmethod
    def pack_names() -> list[str]:
        """The bundled packs, by name (what ``--kb`` and the UI's pack picker offer)."""
        return bundled_pack_names()

    def summary(self, pack: str) -> dict[str, Any]:
        """A pack's id, English title, version, hash and how many causes, questions and fixes it has."""
        kb = self.kb(pack)
        return {"id": kb.id, "title": kb.pack.title.en, "version": kb.pack.version, "hash": kb.version_hash,
                "causes": len(kb.causes), "questions": len(kb.questions), "fixes": len(kb.fixes)}

    def list_kbs(self) -> list[dict[str, Any]]:
        return [self.summary(name) for name in bundled_pack_names()]

    def validate(self, pack: str, *, identifiability: bool = True) -> PackCheck:
        """Every problem of a pack (schema, references, graph, CPDs and, optionally, identifiability).

        Always freshly read (never the cached pack): authors run this right after editing.
        """
        from engine.kb.validate import validate

        try:
            kb, raw = validate(pack, identifiability=identifiability)
        except KbError as exc:
            return PackCheck(exc.problems)
        if kb is None:
            return PackCheck(raw.problems)
        size = {"causes": len(kb.causes), "mechanisms": len(kb.mechanisms), "questions": len(kb.questions),
                "fixes": len(kb.fixes), "signatures": len(kb.signatures)}
        return PackCheck(raw.problems, kb.id, kb.version_hash, size)

    @staticmethod
    def import_network(path: Path, out: Path, pack_id: str | None = None) -> Path:
        """Write a pack for a BIF/XMLBIF network (roots become causes, leaves questions); its directory."""
        from engine.model.importer import import_network

        return import_network(path, out, pack_id)

    def simulate(self, pack: str, runs: int, *, seed: int = 0, faults: int = 1,
                 stop_probability: float = DEFAULT_STOP_PROBABILITY, exchange_rate: float | None = None,
                 progress: Callable[[], None] | None = None, workers: int = 1) -> dict[str, object]:
        """Our question policies beside fixed, cheapest-first and random order on simulated sessions."""
        from engine.learn.simulate import simulate

        return simulate(self.kb(pack), runs, seed=seed, faults=faults,
                        policy=StopPolicy(stop_probability, exchange_rate), progress=progress, workers=workers)

    # ----------------------------------------------------------------------------- pack views

    def pack_view(self, pack: str, lang: str = "en") -> PackView:
        """The pack's texts in ``lang`` and its graph, for pages that show names rather than ids."""
        kb = self.kb(pack)
        return PackView(
            id=kb.id, version=kb.pack.version, hash=kb.version_hash, title=kb.pack.title.get(lang),
            causes={c: cause.title.get(lang) for c, cause in kb.causes.items()},
            mechanisms={m: mechanism.title.get(lang) for m, mechanism in kb.mechanisms.items()},
            questions={q: QuestionView(text=question.text.get(lang), short=question.short.get(lang),
                                       answers=list(question.answers), how_to_check=question.how_to_check.get(lang))
                       for q, question in kb.questions.items()},
            fixes={f: FixView(title=fix.title.get(lang), folklore=fix.folklore) for f, fix in kb.fixes.items()},
            parents={n: kb.parents(n) for n in [*kb.mechanisms, *kb.questions]},
            signatures=len(kb.signatures),
        )

    def node_details(self, pack: str, node: str, lang: str = "en") -> NodeDetailsOut:
        """One cause, mechanism or question as an author reviews it: basis, sources, provenance, neighbours."""
        kb = self.kb(pack)
        spec = kb.node(node)
        children = [n for n in [*kb.mechanisms, *kb.questions] if node in kb.parents(n)]
        facts: dict[str, Any] = {}
        description: str | None = None
        cpd: dict[str, Any] | None = None
        if isinstance(spec, Cause):
            kind, title, description = "cause", spec.title.get(lang), spec.description.get(lang)
            facts["prior"] = spec.prior if spec.prior is not None else spec.distribution
            facts["prior basis"] = spec.prior_basis
            facts["category"] = spec.category
            facts["how to confirm"] = spec.confirm.get(lang)
            facts["fixed by"] = ", ".join(f"{f} ({e:.0%})" for f, fix in kb.fixes.items()
                                          for c, e in fix.removes.items() if c == node) or "no fix in the pack"
        else:
            assert isinstance(spec, Mechanism | Question)
            if isinstance(spec, Mechanism):
                kind, title, description = "mechanism", spec.title.get(lang), spec.description.get(lang)
            else:
                kind, title = "question", spec.text.get(lang)
                facts["how to check"] = spec.how_to_check.get(lang)
                facts["cost"] = f"{spec.cost_minutes:g} min, asked by {', '.join(spec.asked_by)}"
                facts["answers"] = ", ".join(spec.answers)
                facts["answered by signatures"] = ", ".join(s.id for s in kb.signatures.values()
                                                            if s.question == node) or "none"
            facts["CPD"] = spec.cpd.type
            facts["parents"] = ", ".join(kb.parents(node))
            facts["basis"] = spec.basis
            cpd = spec.cpd.model_dump(mode="json")
        facts["children"] = ", ".join(children) or "none"
        provenance = spec.provenance
        return NodeDetailsOut(
            id=node, kind=kind, title=title, status=provenance.status, author=provenance.author,
            date=str(provenance.date), description=description, facts=facts, cpd=cpd,
            references=[ReferenceOut(title=r.title, url=r.url, section=r.section) for r in spec.references])

    def findings(self, pack: str) -> PackFindingsOut:
        """The validator's problems, and the pairs of causes no question can tell apart."""
        from engine.kb.identifiability import identifiability_warnings
        from engine.kb.validate import validate

        kb, raw = validate(self.kb(pack).directory, identifiability=False)
        pairs = identifiability_warnings(kb) if kb is not None else []
        notes = {frozenset(n.causes): n.note for n in kb.pack.identifiability_notes} if kb is not None else {}
        return PackFindingsOut(problems=[p.as_dict() for p in raw.problems],
                               identifiability=[(first, second, detail, notes.get(frozenset((first, second)), ""))
                                                for first, second, detail in pairs])

    def check_answer(self, pack: str, question: str, answer: str) -> None:
        """``EvidenceError`` naming the valid ids unless the pack has this question and answer."""
        check_answer(self.kb(pack), question, answer)

    def check_tried(self, pack: str, fix: str, outcome: str) -> None:
        """``EvidenceError`` naming the valid ids unless the pack has this fix and the outcome is known."""
        check_tried(self.kb(pack), [(fix, outcome)])

    @staticmethod
    def hard_strength() -> float:
        """How strong a finding must be to count as a hard answer (weaker ones become soft evidence)."""
        from engine.evidence import HARD_STRENGTH

        return HARD_STRENGTH

    # ----------------------------------------------------------------------- learning and evaluation

    @staticmethod
    def split_rule() -> str:
        """The fixed rule on case ids that puts a case in the frozen test split (nothing learns from it)."""
        from engine.learn.split import SPLIT_RULE

        return SPLIT_RULE

    @staticmethod
    def outside_test_split(cases: Sequence[Case]) -> list[Case]:
        """The cases learning and cross-validation may use: those outside the frozen test split."""
        from engine.learn.split import split_cases

        return split_cases(cases)[0]

    def case_directory(self, pack: str) -> Path:
        """Where the pack's bundled cases are (``data/cases/<pack id>/``, shipped in the wheel)."""
        from engine.learn.cases import default_case_dir

        return default_case_dir(self.kb(pack).id)

    def case_files(self, pack: str, directory: Path | None = None) -> list[Case]:
        """The cases of a directory (default: the pack's bundled ones), checked against the pack; none if absent."""
        from engine.learn.cases import load_case_dir

        source = directory or self.case_directory(pack)
        return load_case_dir(self.kb(pack), source) if source.is_dir() else []

    def learn(self, pack: str, cases: Sequence[Case], ess: float, top: int = 20) -> LearnPreviewOut:
        """Fit the CPTs to reviewed cases by EM (expert CPDs as the prior); nothing is written."""
        from engine.learn.em import learn, learned_parameters, parameter_changes

        kb = self.kb(pack)
        result, expert = learn(kb, list(cases), ess=ess)
        return LearnPreviewOut(
            pack=kb.id, hash=kb.version_hash, ess=ess, cases=result.cases, ticket_cases=result.ticket_cases,
            held_out=result.held_out, iterations=result.iterations, converged=result.converged,
            changes=[c.as_dict() for c in parameter_changes(expert, result, top=top)],
            parameters=learned_parameters(kb, result, ess).model_dump(mode="json"))

    def write_learned(self, pack: str, preview: LearnPreviewOut) -> Path:
        """Write a preview's parameters as the pack's ``learned.yaml`` (atomically); its path."""
        from engine.learn.em import LearnedParameters, write_learned

        return write_learned(self.kb(pack).directory, LearnedParameters.model_validate(preview.parameters))

    def evaluate(self, pack: str, cases: Sequence[Case], folds: int, ess: float, plot: Path | None = None
                 ) -> EvaluationOut:
        """The frozen test split beside k-fold cross-validation; ``plot`` also writes the calibration PNG."""
        from engine.learn.evaluate import (
            calibration_plot,
            comparison_rows,
            cross_validate,
            family_rows,
            markdown_report,
        )

        evaluation = cross_validate(self.kb(pack), list(cases), folds=folds, ess=ess)
        if plot is not None:
            evaluation.plot = str(calibration_plot(evaluation, plot))
        data = evaluation.as_dict()
        return EvaluationOut(data=data, markdown=markdown_report(evaluation), comparison=comparison_rows(data),
                             families=family_rows(data))

    @staticmethod
    def calibration_figure(bins: Sequence[dict[str, Any]], title: str, *, reference_colour: str = "grey",
                           line_colour: str | None = None) -> Figure:
        """The reliability diagram of an evaluation's ``calibration`` bins (the one drawing of it)."""
        from engine.learn.evaluate import calibration_figure

        return calibration_figure(bins, title, reference_colour=reference_colour, line_colour=line_colour)

    def describe(self, pack: str, lang: str = "en") -> dict[str, Any]:
        return describe(self.kb(pack), lang)

    def evidence(
        self,
        kb: KnowledgeBase,
        answers: Mapping[str, str],
        tried: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        soft: Iterable[SoftAnswer] = (),
        artifacts: Sequence[str] = (),
    ) -> Evidence:
        """Answers, fixes tried, and what the ``artifacts`` (texts of logs, bounces, ...) say.

        A typed answer, ``unknown`` included, overrides what an artifact says about the same question.
        """
        attempts = list(tried.items()) if isinstance(tried, Mapping) else list(tried)
        soft = list(soft)
        if artifacts:
            from engine.evidence import extract, to_evidence

            found = [answer for text in artifacts for answer in extract(text, kb)]
            extracted, read_soft = to_evidence(found, kb)
            soft += [s for s in read_soft if s.question not in answers]
            answers = {**extracted, **answers}
        return build_evidence(kb, answers, soft=soft, tried=attempts)

    def rank(self, pack: str, answers: Mapping[str, str], tried: Mapping[str, str] | None = None,
             lang: str = "en", artifacts: Sequence[str] = ()) -> RankOut:
        from engine.reason.ranking import cause_posterior, rank

        kb = self.kb(pack)
        evidence = self.evidence(kb, answers, tried or {}, artifacts=artifacts)
        posterior = cause_posterior(kb, evidence)
        ranking = rank(kb, evidence, posterior=posterior)
        return rank_out(kb, ranking, lang, actions_for(kb, evidence, lang, posterior),
                        uncertainty=assess_uncertainty(kb, evidence, posterior))

    def next(self, pack: str, answers: Mapping[str, str], tried: Mapping[str, str] | None = None,
             role: str | None = None, lang: str = "en", skip: Collection[str] = (),
             objective: Objective = DEFAULT_OBJECTIVE, *, stop_probability: float = DEFAULT_STOP_PROBABILITY,
             exchange_rate: float | None = None, limit: int = 5, artifacts: Sequence[str] = ()) -> NextOut:
        """The questions worth most per minute; ``exchange_rate`` None means the objective's own."""
        from engine.reason.questions import next_questions
        from engine.reason.ranking import cause_posterior

        kb = self.kb(pack)
        evidence = self.evidence(kb, answers, tried or {}, artifacts=artifacts)
        for question in skip:  # an unknown skipped id is refused before any inference
            check_question(kb, question)
        posterior = cause_posterior(kb, evidence)
        result = next_questions(kb, evidence, role=role, policy=StopPolicy(stop_probability, exchange_rate),
                                limit=limit, lang=lang, skip=skip, objective=objective, posterior=posterior)
        return next_out(kb, result, actions_for(kb, evidence, lang, posterior),
                        uncertainty=assess_uncertainty(kb, evidence, posterior))

    def diagnose(self, pack: str, answers: Mapping[str, str], tried: Mapping[str, str] | None = None,
                 role: str | None = None, lang: str = "en", skip: Collection[str] = (),
                 objective: Objective = DEFAULT_OBJECTIVE) -> DiagnoseOut:
        """The ranking and the next questions of one evidence set, as ``rank`` and ``next`` give them.

        The evidence is propagated once for the causes (``cause_posterior``), and the ranking, the
        questions, the recommended actions and the uncertainty figures all start from that.
        """
        from engine.reason.questions import next_questions
        from engine.reason.ranking import cause_posterior, rank

        kb = self.kb(pack)
        evidence = self.evidence(kb, answers, tried or {})
        posterior = cause_posterior(kb, evidence)
        actions = actions_for(kb, evidence, lang, posterior)
        uncertainty = assess_uncertainty(kb, evidence, posterior)
        ranked = rank_out(kb, rank(kb, evidence, posterior=posterior), lang, actions, uncertainty=uncertainty)
        asked = next_out(kb, next_questions(kb, evidence, role=role, lang=lang, skip=skip, objective=objective,
                                            posterior=posterior),
                         actions, uncertainty=uncertainty)
        return DiagnoseOut(
            kb={"id": ranked.kb.id, "version": ranked.kb.version, "hash": ranked.kb.hash},
            causes=ranked.causes, combinations=ranked.combinations, explanations=ranked.explanations,
            questions=asked.questions, handoff=asked.handoff, stop=asked.stop, stop_reason=asked.stop_reason,
            recommended_actions=ranked.recommended_actions, stop_details=asked.stop_details,
            objective=asked.objective,
            unmodelled_probability=ranked.unmodelled_probability, enough_evidence=ranked.enough_evidence,
        )

    def intake(self, pack: str, text: str, lang: str = "en") -> IntakeOut:
        """Proposed answers read from a complaint in the person's own words (see ``engine.evidence.intake``).

        ``lang`` is the complaint's language; phrases of both languages are always tried, since
        Japanese complaints quote English log lines. Texts over ``MAX_INTAKE_CHARS`` are refused.
        """
        from engine.evidence.intake import MAX_INTAKE_CHARS, read_complaint

        if len(text) > MAX_INTAKE_CHARS:
            raise EvidenceError(f"the text has {len(text)} characters; intake reads at most {MAX_INTAKE_CHARS}",
                                {"max_chars": MAX_INTAKE_CHARS, "chars": len(text)})
        kb = self.kb(pack)
        reading = read_complaint(kb, text, lang)
        return IntakeOut(
            kb=kb_ref(kb),
            answers=[IntakeAnswerOut(question=a.question, answer=a.answer, matched=a.matched) for a in reading.answers],
            unmatched=reading.unmatched,
        )

    @staticmethod
    def intake_limit() -> int:
        """The longest complaint ``intake`` reads, in characters (a text box's limit)."""
        from engine.evidence.intake import MAX_INTAKE_CHARS

        return MAX_INTAKE_CHARS

    def checklist(self, pack: str, lang: str = "en") -> list[ChecklistItemOut]:
        """The pack's short intake checklist of cheap symptom questions, in its documented order."""
        from engine.evidence.intake import checklist

        kb = self.kb(pack)
        return [ChecklistItemOut(id=q, text=kb.questions[q].text.get(lang),
                                 answers=[*kb.questions[q].answers, "unknown"]) for q in checklist(kb)]

    def assess(self, pack: str, answers: Mapping[str, str], tried: Mapping[str, str] | None = None,
               fix: str | None = None, text: str | None = None, lang: str = "en",
               artifacts: Sequence[str] = ()) -> AssessOut:
        """Assess a known fix by id, or an anecdote by the fixes its words name."""
        if (fix is None) == (text is None):
            raise EvidenceError("give exactly one of 'fix' (an id) or 'text' (an anecdote)", {})
        kb = self.kb(pack)
        return assess_proposal(kb, self.evidence(kb, answers, tried or {}, artifacts=artifacts), fix=fix, text=text,
                               lang=lang)

    def extract(self, pack: str, text: str, keep_emails: bool = False) -> ExtractOut:
        """Answers read from a pasted artifact, each with its matching line; nothing is stored."""
        from engine.evidence import read

        kb = self.kb(pack)
        return reading_out(kb, read(text, kb), keep_emails, digits=6)

    def read_artifacts(self, pack: str, texts: Sequence[str], keep_emails: bool = False) -> ArtifactsOut:
        """Each text's findings and unmatched lines (strengths unrounded), and the evidence of all together.

        The joint evidence is not the union of the texts' answers: two files may disagree, and
        ``to_evidence`` settles that over all findings at once.
        """
        from engine.evidence import read, to_evidence

        kb = self.kb(pack)
        readings = [read(text, kb) for text in texts]
        hard, soft = to_evidence([f for r in readings for f in r.found], kb)
        return ArtifactsOut(kb=kb_ref(kb), texts=[reading_out(kb, r, keep_emails) for r in readings],
                            answers=hard, soft=[SoftOut(question=s.question, likelihood=s.likelihood) for s in soft])


def reading_out(kb: KnowledgeBase, reading: Extraction, keep_emails: bool, digits: int | None = None
                ) -> ExtractOut:
    """One text's findings, the evidence they give, and the error-like lines nothing understood.

    E-mail addresses are redacted from the quoted lines unless ``keep_emails``; ``digits`` rounds the
    strengths (the API's JSON), None keeps them exact (the CLI's ``extract``).
    """
    from engine.evidence import redact, to_evidence

    def shown(line: str) -> str:
        return line if keep_emails else redact(line)

    hard, soft = to_evidence(reading.found, kb)
    return ExtractOut(
        kb=kb_ref(kb),
        findings=[FindingOut(question=f.question, answer=f.answer,
                             strength=f.strength if digits is None else round(f.strength, digits),
                             source_line=shown(f.source_line), line_number=f.line_number, extractor=f.extractor,
                             signature=f.signature_id, reply_code=f.reply_code) for f in reading.found],
        answers=hard, soft=[SoftOut(question=s.question, likelihood=s.likelihood) for s in soft],
        unmatched=[UnmatchedOut(line_number=u.line_number, text=shown(u.text)) for u in reading.unmatched],
    )

def actions_for(kb: KnowledgeBase, evidence: Evidence, lang: str, posterior: CausePosterior | None = None
                ) -> list[ActionScore]:
    """Recommended actions, for packs that have fixes and a complaint to assess them against."""
    if not kb.fixes or kb.pack.complaint is None:
        return []
    return recommended_actions(kb, evidence, lang=lang, posterior=posterior)


def assess_proposal(
    kb: KnowledgeBase, evidence: Evidence, *, fix: str | None = None, text: str | None = None, lang: str = "en"
) -> AssessOut:
    """A fix by id, or an anecdote mapped to the fix its words name; "not in the knowledge base"
    with the recommended actions when it names none."""
    from engine.reason.fixes import assess_fix, match_fix_text

    if text is not None:
        matches = match_fix_text(kb, text)
        if not matches:
            return not_in_kb_out(kb, text, recommended_actions(kb, evidence, lang=lang))
        return assess_out(kb, assess_fix(kb, evidence, matches[0][0], lang=lang), text)
    return assess_out(kb, assess_fix(kb, evidence, fix or "", lang=lang))
