"""Stateful diagnosis sessions on top of the store: an append-only event log tied to a KB version.

Part of the service layer beside ``engine.service``, and a module of its own because it needs the
store: keeping it apart is what lets the stateless service (and ``rootward rank``) run without
SQLAlchemy. Faces open it through ``engine.records.Records.sessions``.

Why a log and not a row of current answers: every acknowledged request becomes one committed event,
so a server killed at any point loses nothing it acknowledged, any worker can serve the next request
(the current answers are a replay of the log, never process memory), and a retried request carrying
the same ``Idempotency-Key`` finds its event instead of appending a second one.

Why KB versions are stored and materialised as directories: a session records the content hash of
the pack it started on. When the bundled pack is edited later, the session must finish on its own
version, so its files are read back from the ``kb_versions`` table and written once per worker into
a content-addressed directory. Loading that directory goes through the one loader and validator
every other face uses (no second, in-memory loading path to keep in step), the content hash is
re-checked after writing, and the compiled-model cache, keyed by hash, is shared with everything
else. In-process dictionaries here are caches only: losing them costs time, never data.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from engine.case_schema import Case, CaseAnswer, CaseSource, FixAttempt
from engine.contracts import AssessOut, ExtractOut, KbRef, NextOut, RankOut, UnicodeCheckedIn, uncertainty_text
from engine.errors import ConflictError, EvidenceError, NotFoundError, StoreError, UnknownPackError
from engine.kb.loader import BUNDLED_KB_DIR, bundled_pack_names, content_hash, pack_files
from engine.kb.schema import UNKNOWN_ANSWER
from engine.reason.evidence import check_answer, check_question, check_tried
from engine.reason.questions import DEFAULT_OBJECTIVE, Objective
from engine.service import Service
from engine.store import (
    AuditRepository,
    CaseRepository,
    EventRecord,
    KbVersionRepository,
    SessionRepository,
    Store,
    effective_answers,
    skipped_questions,
)
from engine.store.repositories import EventKind


def known_pack(name: str) -> str:
    """The directory of a bundled pack (as a string for ``Service``), or ``UnknownPackError``.

    Faces reachable over a network accept only bundled names: ``Service.kb`` also takes a directory
    path, and a remote client must not be able to point the loader at arbitrary directories.
    """
    valid = bundled_pack_names()
    if name not in valid:
        raise UnknownPackError(name, valid)
    return str(BUNDLED_KB_DIR / name)


class AnswerOut(BaseModel):
    question: str
    answer: str


class FixAttemptOut(BaseModel):
    fix: str
    outcome: str


class SessionOut(BaseModel):
    """A session as clients see it: the answers in effect (replayed from the log) and fixes tried."""

    id: str
    kb: KbRef
    created: str
    answers: list[AnswerOut]
    fixes_tried: list[FixAttemptOut] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list,
                               description="questions set aside (\"can't check that now\"), in the order they were; "
                                           "the session's next questions leave them out until they are brought back")
    events: int = Field(description="number of events in the session's log (answers, undos, fix attempts, skips)")


class ResolveIn(UnicodeCheckedIn):
    """What the agent knows at the end: the confirmed causes and how it was fixed."""

    confirmed_causes: list[str] = Field(min_length=1, max_length=50)
    causes_complete: bool = False
    title: str | None = Field(default=None, max_length=200)
    resolution: str = Field(default="", max_length=10_000)
    reference: str | None = Field(default=None, min_length=3, max_length=500,
                                  description="ticket id or URL; defaults to the session id")


def keep_kb_version(store: Store, service: Service, pack: str) -> tuple[str, str]:
    """Store a pack's current files under its content hash; returns ``(pack id, hash)``.

    Files are decoded from bytes (not read as text) so that newline translation cannot make the
    stored content hash differently from the files it came from. An author saving the pack
    between loading and reading would pair one version's hash with another's files, so the hash
    is checked again after reading.
    """
    for _ in range(3):
        kb = service.kb(pack)
        files = {p.name: p.read_bytes().decode("utf-8") for p in pack_files(kb.directory)}
        if content_hash(kb.directory) == kb.version_hash:
            break
    else:
        raise StoreError(f"pack '{pack}' keeps changing while it is read; try again when the edit is saved")
    with store.transaction() as session:
        KbVersionRepository(session).ensure(kb.id, kb.pack.version, kb.version_hash, files)
    return kb.id, kb.version_hash


@dataclass
class SessionState:
    """A session replayed from its log."""

    id: str
    pack: str
    kb_hash: str
    created: str
    events: list[EventRecord]
    answers: dict[str, str] = field(default_factory=dict)
    tried: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class SessionService:
    """Session commands over a ``Store`` and a ``Service``; every command is one short transaction."""

    def __init__(self, store: Store, service: Service | None = None, kb_root: Path | None = None) -> None:
        self.store = store
        self.service = service or Service()
        self.kb_root = kb_root or Path(tempfile.gettempdir()) / f"rootward-kb-{os.getuid()}"
        self._refs: dict[str, str] = {}  # hash -> materialised directory (a cache; the DB holds the content)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------- KB versions

    def store_version(self, pack: str) -> tuple[str, str]:
        """Keep the bundled pack's current content under its hash (see ``keep_kb_version``)."""
        return keep_kb_version(self.store, self.service, known_pack(pack))

    def pack_ref(self, pack: str, kb_hash: str) -> str:
        """What to hand ``Service``: the bundled directory while it has this hash, else the stored version's."""
        if pack in bundled_pack_names() and content_hash(BUNDLED_KB_DIR / pack) == kb_hash:
            return str(BUNDLED_KB_DIR / pack)
        cached = self._refs.get(kb_hash)
        if cached is not None:
            return cached
        with self._lock:
            directory = self._materialise(kb_hash)
            self._refs[kb_hash] = str(directory)
        return str(directory)

    def _materialise(self, kb_hash: str) -> Path:
        target = self.kb_root / kb_hash
        if target.is_dir() and content_hash(target) == kb_hash:
            return target
        with self.store.transaction() as session:
            record = KbVersionRepository(session).get(kb_hash)
        self.kb_root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{kb_hash}-", dir=self.kb_root))
        for name, text in record.files.items():
            (staging / Path(name).name).write_bytes(text.encode("utf-8"))
        if content_hash(staging) != kb_hash:
            shutil.rmtree(staging, ignore_errors=True)
            raise StoreError(f"stored knowledge-base version {kb_hash} does not reproduce its hash")
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(staging, target)  # atomic: another worker either sees no directory or all of it
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # another worker won the race with the same content
        return target

    # ---------------------------------------------------------------------------------- commands

    def start(self, pack: str, owner: str | None = None) -> SessionOut:
        """A new session on the pack's current version (stored first, so it can outlive edits).

        ``owner`` binds it to one API caller (see ``check_access``); the UI and the CLI leave it open.
        """
        pack_id, kb_hash = self.store_version(pack)
        with self.store.transaction() as session:
            record = SessionRepository(session).create(pack_id, kb_hash, owner=owner)
        return self.view(record.id)

    def check_access(self, session_id: str, caller: str, *, sees_all: bool) -> None:
        """Let ``caller`` use this session: its owner, anyone for an unowned one, or ``sees_all``.

        Another caller's session is reported exactly like a missing one, so a key cannot even learn
        which ids exist.
        """
        with self.store.transaction() as session:
            record = SessionRepository(session).get(session_id)
        if not sees_all and record.owner is not None and record.owner != caller:
            raise NotFoundError(f"no session '{session_id}'")

    def state(self, session_id: str) -> SessionState:
        """Replay the log: answers in effect (``unknown`` dropped) and fix attempts in order."""
        with self.store.transaction() as session:
            repository = SessionRepository(session)
            record = repository.get(session_id)
            events = repository.events(session_id)
        answers = replay(events)
        tried = [(e.fix, e.outcome) for e in events if e.kind == "fix_attempt" and e.fix and e.outcome]
        return SessionState(record.id, record.pack, record.kb_hash, record.created.isoformat(), events,
                            answers, tried, skipped_questions(events))

    def view(self, session_id: str) -> SessionOut:
        state = self.state(session_id)
        kb = self.service.kb(self.pack_ref(state.pack, state.kb_hash))
        return SessionOut(
            id=state.id, kb=KbRef(id=kb.id, version=kb.pack.version, hash=kb.version_hash), created=state.created,
            answers=[AnswerOut(question=q, answer=a) for q, a in state.answers.items()],
            fixes_tried=[FixAttemptOut(fix=f, outcome=o) for f, o in state.tried],
            skipped=state.skipped,
            events=len(state.events),
        )

    def answer(self, session_id: str, question: str, answer: str, idempotency_key: str | None = None
               ) -> SessionOut:
        """Record one answer after checking it against the session's own KB version.

        Contradictions are not checked here: that needs inference, and the next ranking or question
        request reports them with the answers involved, which an undo then resolves.
        """
        state = self.state(session_id)
        check_answer(self.service.kb(self.pack_ref(state.pack, state.kb_hash)), question, answer)
        self._append(session_id, "answer", idempotency_key, question=question, answer=answer)
        return self.view(session_id)

    def retract(self, session_id: str, question: str, idempotency_key: str | None = None) -> SessionOut:
        """Withdraw one answer: appended as ``unknown`` (no evidence), so an undo brings it back."""
        state = self.state(session_id)
        kb = self.service.kb(self.pack_ref(state.pack, state.kb_hash))
        check_answer(kb, question, UNKNOWN_ANSWER)
        if question not in state.answers:
            raise EvidenceError(f"question '{question}' has no answer in this session",
                                {"question": question, "answered": sorted(state.answers)})
        self._append(session_id, "answer", idempotency_key, question=question, answer=UNKNOWN_ANSWER)
        return self.view(session_id)

    def undo(self, session_id: str, idempotency_key: str | None = None) -> SessionOut:
        """Take back the latest answer still in effect (the log keeps it; an undo event is added)."""
        self.state(session_id)
        self._append(session_id, "undo", idempotency_key)
        return self.view(session_id)

    def skip(self, session_id: str, question: str, idempotency_key: str | None = None) -> SessionOut:
        """Set a question aside for this session, so that a reload or another client keeps it aside."""
        state = self.state(session_id)
        check_question(self.service.kb(self.pack_ref(state.pack, state.kb_hash)), question)
        self._append(session_id, "skip", idempotency_key, question=question)
        return self.view(session_id)

    def unskip(self, session_id: str, question: str | None = None, idempotency_key: str | None = None
               ) -> SessionOut:
        """Bring back one set-aside question, or all of them when ``question`` is None."""
        state = self.state(session_id)
        if question is not None and question not in state.skipped:
            raise EvidenceError(f"question '{question}' is not set aside in this session",
                                {"question": question, "skipped": state.skipped})
        self._append(session_id, "unskip", idempotency_key, **({} if question is None else {"question": question}))
        return self.view(session_id)

    def attempt(self, session_id: str, fix: str, outcome: str, idempotency_key: str | None = None
                ) -> SessionOut:
        """Record a fix that was applied and whether the problem persisted (evidence for ranking)."""
        state = self.state(session_id)
        check_tried(self.service.kb(self.pack_ref(state.pack, state.kb_hash)), [(fix, outcome)])
        self._append(session_id, "fix_attempt", idempotency_key, fix=fix, outcome=outcome)
        return self.view(session_id)

    def extract(self, session_id: str, text: str, who: str, keep_emails: bool = False,
                idempotency_key: str | None = None) -> ExtractOut:
        """Record the hard answers an artifact gives, never the artifact itself.

        Each answer becomes an ordinary answer event (so undo and replay treat it like a typed one);
        its provenance, the matching line with e-mail addresses redacted, goes into the audit log
        in the same transaction, because the event log has no column for it. Questions the session
        already answered are left alone: what staff typed overrides what a log suggests. Soft
        findings are returned for display but not recorded (an event holds one definite answer).
        """
        state = self.state(session_id)
        result = self.service.extract(self.pack_ref(state.pack, state.kb_hash), text, keep_emails)
        new = {q: a for q, a in result.answers.items() if q not in state.answers}
        lines = {f.question: f for f in result.findings if new.get(f.question) == f.answer}
        with self.store.transaction() as session:
            repository = SessionRepository(session)
            for question, answer in new.items():
                key = f"{idempotency_key}:{question}" if idempotency_key else None
                repository.append(session_id, "answer", question=question, answer=answer, idempotency_key=key)
            if new:
                AuditRepository(session).record(who, "session.extract", session_id, {"answers": [
                    {"question": q, "answer": a, "source_line": lines[q].source_line,
                     "line_number": lines[q].line_number, "extractor": lines[q].extractor}
                    for q, a in new.items() if q in lines]})
        return result.model_copy(update={"recorded": sorted(new)})

    def _append(self, session_id: str, kind: EventKind, idempotency_key: str | None, **values: str) -> None:
        """Append, or find the event an earlier request with the same key appended.

        Reusing a key for a different request is a client bug that would otherwise be silently
        ignored, so it is a conflict.
        """
        with self.store.transaction() as session:
            event = SessionRepository(session).append(session_id, kind, idempotency_key=idempotency_key,
                                                      **values)
        if idempotency_key is not None:
            same = event.kind == kind and all(getattr(event, k) == v for k, v in values.items())
            if not same:
                raise ConflictError(f"Idempotency-Key '{idempotency_key}' was already used in this session "
                                    f"for a different request (event {event.seq}, {event.kind})")

    # ----------------------------------------------------------------------------------- queries

    def ranking(self, session_id: str, lang: str = "en") -> RankOut:
        state = self.state(session_id)
        return self.service.rank(self.pack_ref(state.pack, state.kb_hash), state.answers, dict(state.tried),
                                 lang=lang)

    def next(self, session_id: str, role: str | None = None, lang: str = "en", skip: Sequence[str] = (),
             objective: Objective = DEFAULT_OBJECTIVE) -> NextOut:
        state = self.state(session_id)
        skipped = list(dict.fromkeys([*state.skipped, *skip]))
        return self.service.next(self.pack_ref(state.pack, state.kb_hash), state.answers, dict(state.tried),
                                 role=role, lang=lang, skip=skipped, objective=objective)

    def assess(self, session_id: str, fix: str | None = None, text: str | None = None, lang: str = "en"
               ) -> AssessOut:
        state = self.state(session_id)
        return self.service.assess(self.pack_ref(state.pack, state.kb_hash), state.answers, dict(state.tried),
                                   fix=fix, text=text, lang=lang)

    def resolve(self, session_id: str, request: ResolveIn, author: str, sources: Mapping[str, str] | None = None
                ) -> Case:
        """Turn the session into a draft case (authors review it before learning uses it).

        ``sources`` maps questions answered from pasted text to the log line that answered them; the
        case keeps that line as the answer's provenance.
        """
        from engine.store.models import utc_now

        state = self.state(session_id)
        kb = self.service.kb(self.pack_ref(state.pack, state.kb_hash))
        unknown = [c for c in request.confirmed_causes if c not in kb.causes]
        if unknown:
            raise EvidenceError(f"unknown cause '{unknown[0]}'",
                                {"cause": unknown[0], "valid_causes": sorted(kb.causes)})
        now = utc_now()
        case = Case(
            id=f"session-{state.id}", pack=state.pack, kb_hash=state.kb_hash, title=request.title, status="draft",
            source=CaseSource(kind="ticket", reference=request.reference or f"session:{state.id}"),
            author=author, created=now, updated=now,
            evidence={q: CaseAnswer(answer=a, provenance="extracted", source_line=(sources or {})[q])
                      if q in (sources or {}) else CaseAnswer(answer=a, provenance="typed")
                      for q, a in state.answers.items()},
            confirmed_causes=list(dict.fromkeys(request.confirmed_causes)), causes_complete=request.causes_complete,
            fixes_tried=[FixAttempt(fix=f, outcome=o) for f, o in state.tried],  # type: ignore[arg-type]
            resolution=request.resolution,
        )
        with self.store.transaction() as session:
            CaseRepository(session).add(case)
            AuditRepository(session).record(author, "case.create", case.id, {"session": state.id, "pack": state.pack})
        return case

    def report(self, session_id: str, lang: str = "en") -> str:
        """Markdown to paste into a ticket: answers, ranking with reasons, actions, fixes tried."""
        state = self.state(session_id)
        ref = self.pack_ref(state.pack, state.kb_hash)
        kb = self.service.kb(ref)
        ranked = self.service.rank(ref, state.answers, dict(state.tried), lang=lang)
        return render_report(state, kb.pack.title.get(lang), ranked,
                             {q: kb.questions[q].short.get(lang) for q in state.answers},
                             {f: kb.fixes[f].title.get(lang) for f, _ in state.tried})


def _pct(p: float) -> str:
    return f"{100 * p:.1f} %"


def render_report(state: SessionState, title: str, ranked: RankOut, question_text: dict[str, str],
                  fix_titles: dict[str, str], top: int = 5) -> str:
    """The report as Markdown; plain tables and lists so it reads well in any ticket system."""
    lines = [f"# Rootward diagnosis — {title}", "",
             f"Session `{state.id}` · pack `{ranked.kb.id}` {ranked.kb.version} (hash `{ranked.kb.hash}`)", ""]
    lines += ["## Answers", ""]
    if state.answers:
        lines += ["| question | answer |", "|---|---|"]
        lines += [f"| {question_text.get(q, q)} (`{q}`) | {a} |" for q, a in state.answers.items()]
    else:
        lines.append("No answers yet.")
    lines += ["", "## Most likely causes", "", "| # | cause | probability |", "|---|---|---|"]
    lines += [f"| {i} | {c.title} (`{c.id}`) | {_pct(c.probability)} |"
              for i, c in enumerate(ranked.causes[:top], start=1)]
    lines += ["", uncertainty_text(ranked.enough_evidence, ranked.unmodelled_probability)]
    if ranked.combinations:
        lines += ["", "Most probable combinations:", ""]
        lines += [f"- {' + '.join(c.causes) or '(none)'}: {_pct(c.probability)}" for c in ranked.combinations[:3]]
    lines += ["", "## Reasoning", ""]
    for cause in ranked.causes[:3]:
        weights = ranked.explanations.get(cause.id, [])
        if not weights:
            continue
        lines.append(f"**{cause.title}**")
        lines += [f"- {w.question} = {w.answer}: {'+' if w.woe_bits >= 0 else ''}{w.woe_bits:.2f} bits"
                  for w in weights[:5]]
        lines.append("")
    lines += ["## Recommended actions", ""]
    if ranked.recommended_actions:
        lines += [f"{i}. {a.title} (`{a.id}`): resolves with {_pct(a.p_resolves)}, about {a.cost_minutes:g} min"
                  for i, a in enumerate(ranked.recommended_actions[:5], start=1)]
    else:
        lines.append("None.")
    lines += ["", "## Fixes tried", ""]
    lines += [f"- {fix_titles.get(f, f)} (`{f}`): {o}" for f, o in state.tried] or ["None."]
    return "\n".join(lines) + "\n"


def replay(events: Sequence[EventRecord]) -> dict[str, str]:
    """The answers in effect after a log (``unknown`` means withdrawn and is dropped)."""
    return {q: a for q, a in effective_answers(events).items() if a != UNKNOWN_ANSWER}
