"""Fix assessment: answer "this fixed it for me" with the evidence at hand.

P(the fix resolves the problem | evidence) is the probability that every failure the user reported
(the symptom questions answered "yes") is gone in the after-world of the twin network (see
``engine.model.twin``); with no symptom reported, that the complaint node is absent. An unrelated,
unreported fault elsewhere does not make a fix fail to resolve *this* problem.
Each fix has its own small twin (compiled once per KB version and cached on disk). A fix that
reaches so much of the pack that its twin would pass the twin budget (``engine.compiled.cache``) is
assessed on the causes instead: it resolves the problem when every present cause that can produce
the reported failures is one it removes (each with its effectiveness), and some such cause is
present. That reading ignores the noise that lets a present cause stay silent, so it is a little
pessimistic for fixes that remove most causes; ``tests/test_fixes.py`` bounds the gap where both
can be computed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from engine.compiled.cache import TwinTooLarge
from engine.errors import ContradictionError, EvidenceError
from engine.kb.knowledge import KnowledgeBase
from engine.kb.schema import TableCpd
from engine.reason.evidence import Evidence, reported_symptoms
from engine.reason.inference import evidence_likelihoods
from engine.reason.ranking import CausePosterior, cause_posterior, find_contradiction, weights_of_evidence

DEFAULT_FLOOR = 0.2
"""Actions less likely than this to resolve the problem are not recommended as fixes."""
TEXT_MATCH_THRESHOLD = 2.0


@dataclass(frozen=True)
class Citation:
    question: str
    answer: str


@dataclass(frozen=True)
class Reason:
    text: str
    cites: tuple[Citation, ...] = ()


@dataclass(frozen=True)
class ActionScore:
    id: str
    title: str
    p_resolves: float
    cost_minutes: float
    risk_minutes: float

    @property
    def efficiency(self) -> float:
        """P(resolves) per minute of cost and expected collateral repair (Heckerman–Breese p/c)."""
        return self.p_resolves / (self.cost_minutes + self.risk_minutes)


@dataclass
class Assessment:
    fix_id: str
    title: str
    p_resolves: float
    verdict: str
    reasons: list[Reason]
    check_first: list[str]
    risk: dict[str, object]
    alternatives: list[ActionScore]
    cause_probabilities: dict[str, float] = field(default_factory=dict)


def _monotone(kb: KnowledgeBase) -> bool:
    """Whether adding causes can never make the problem go away (true for canonical CPDs)."""
    if kb.pack.complaint is None:
        return False
    pending = [kb.pack.complaint, *(q for q, question in kb.questions.items() if question.symptom)]
    seen: set[str] = set()
    while pending:
        node_id = pending.pop()
        if node_id in seen or node_id in kb.causes:
            continue
        seen.add(node_id)
        if isinstance(kb.node(node_id).cpd, TableCpd):  # type: ignore[union-attr]
            return False
        pending.extend(kb.parents(node_id))
    return True


def resolution_bound(kb: KnowledgeBase, fix_id: str, causes: dict[str, float]) -> float:
    """An upper bound on P(resolves): some cause the fix removes must be present and removed.

    With monotone mechanisms nothing else can switch the complaint off, so the union bound
    sum(effectiveness x P(cause)) caps the exact answer; it lets us skip exact twins for fixes that
    cannot reach the recommendation floor.
    """
    fix = kb.fixes[fix_id]
    return min(1.0, sum(effect * causes[c] for c, effect in fix.removes.items()))


def resolve_probabilities(
    kb: KnowledgeBase, evidence: Evidence, *, fixes: list[str] | None = None, floor: float = 0.0,
    posterior: CausePosterior | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """Exact P(resolves | evidence) per fix, and the before-world cause posteriors.

    Fixes whose upper bound is below ``floor`` are left out (they could not be recommended); with
    ``floor=0`` every fix asked for is computed. ``posterior`` is the evidence's
    :func:`~engine.reason.ranking.cause_posterior` when the caller already has it.
    """
    posterior = posterior or cause_posterior(kb, evidence)
    causes = dict(posterior.probabilities)
    prune = floor > 0.0 and _monotone(kb)
    # without fixes tried, the posterior ran on the plain network, whose P(e) every twin's
    # before-world shares: each twin then needs only the row with the after-world clamped
    factual = posterior.log_evidence if not evidence.tried else None
    p_resolves = {}
    for fix_id in fixes if fixes is not None else list(kb.fixes):
        if prune and resolution_bound(kb, fix_id, causes) < floor:
            continue
        p_resolves[fix_id] = _resolves(kb, evidence, fix_id, factual)
    return p_resolves, causes


def _resolves(kb: KnowledgeBase, evidence: Evidence, fix_id: str, factual: float | None = None) -> float:
    """P(every reported symptom is gone after the fix | e); the complaint node when none was reported.

    P(all gone | e) = P(e, all gone) / P(e): a batch row clamps every after-world symptom to "not
    failing", and the ratio of its evidence probability to that of the evidence alone is the answer.
    ``factual`` is log P(e) when the caller knows it on the twin's before-world (the plain network,
    no fixes tried): the twin's after-world, unobserved, sums out of P(e), so the row of the evidence
    alone is then left out of the twin's propagation.
    """
    reported = reported_symptoms(kb, evidence)
    outcomes = reported or [layout_complaint(kb)]
    try:
        tree, layout, likelihoods = evidence_likelihoods(kb, [evidence], candidate=fix_id, outcomes=outcomes)
    except TwinTooLarge:
        return resolves_by_causes(kb, evidence, fix_id)
    assert layout is not None
    if not reported:
        after = layout.after_complaint[-1]
        absent = kb.states(layout.complaint).index("absent")
        return float(tree.propagate(likelihoods, 1, targets=[after]).marginal(after)[0, absent])
    after_names = [layout.after_symptoms[-1][q] for q in reported]
    if any(name == q for name, q in zip(after_names, reported, strict=True)):
        return 0.0  # a reported failure this fix cannot reach stays as it is
    if factual is not None:
        for name, question in zip(after_names, reported, strict=True):
            rows = np.ones((1, len(kb.questions[question].answers)))
            rows[0, 0] = 0.0  # the failing answer, excluded
            likelihoods[name] = rows
        gone = tree.propagate(likelihoods, 1, targets=[])
        return 0.0 if gone.impossible[0] else float(min(1.0, np.exp(gone.log_evidence[0] - factual)))
    for name, question in zip(after_names, reported, strict=True):
        answers = kb.questions[question].answers
        rows = np.ones((2, len(answers)))
        rows[1, 0] = 0.0  # the failing answer, excluded in the second row
        likelihoods[name] = rows
    result = tree.propagate(likelihoods, 2, targets=[])
    if result.impossible[1]:
        return 0.0
    return float(np.exp(result.log_evidence[1] - result.log_evidence[0]))


def layout_complaint(kb: KnowledgeBase) -> str:
    complaint = kb.pack.complaint
    if complaint is None:
        raise EvidenceError(f"pack {kb.id} has no complaint node, so fixes cannot be assessed", {})
    return complaint


def failure_causes(kb: KnowledgeBase, evidence: Evidence) -> list[str]:
    """The binary causes from which a reported failure (or, with none reported, the complaint) descends."""
    pending = reported_symptoms(kb, evidence) or ([kb.pack.complaint] if kb.pack.complaint else [])
    seen: set[str] = set()
    while pending:
        node = pending.pop()
        if node not in seen:
            seen.add(node)
            pending.extend(kb.parents(node))
    return [c for c in kb.causes if c in seen and kb.states(c) == ["absent", "present"]]


def resolves_by_causes(kb: KnowledgeBase, evidence: Evidence, fix_id: str) -> float:
    """P(resolves | e) read on the causes: all present failure causes removed, and at least one present.

    Both terms are expectations of product-form factors, so three rows of one propagation give them:
    P = E[prod_c g_c] - P(no failure cause present), with g_c(present) = effectiveness of the fix on
    c (zero for causes it does not remove) and g_c(absent) = 1.
    """
    removes = kb.fixes[fix_id].removes
    tree, _, likelihoods = evidence_likelihoods(kb, [evidence])
    for cause in failure_causes(kb, evidence):
        rows = np.ones((3, 2))
        rows[1, 1] = removes.get(cause, 0.0)
        rows[2, 1] = 0.0
        likelihoods[cause] = likelihoods[cause] * rows if cause in likelihoods else rows
    result = tree.propagate(likelihoods, 3, targets=[])
    if result.impossible[0]:
        raise ContradictionError(find_contradiction(kb, evidence))
    removed, none_present = (0.0 if result.impossible[k] else float(np.exp(result.log_evidence[k]
                                                                           - result.log_evidence[0]))
                             for k in (1, 2))
    return float(min(1.0, max(0.0, removed - none_present)))


def action_scores(kb: KnowledgeBase, p_resolves: dict[str, float], lang: str = "en") -> list[ActionScore]:
    scores = [
        ActionScore(
            id=f, title=kb.fixes[f].title.get(lang), p_resolves=p, cost_minutes=kb.fixes[f].cost_minutes,
            risk_minutes=kb.fixes[f].risk.collateral_minutes,
        )
        for f, p in p_resolves.items()
    ]
    return sorted(scores, key=lambda s: (-s.efficiency, s.id))


def recommended_actions(
    kb: KnowledgeBase, evidence: Evidence, *, floor: float = DEFAULT_FLOOR, top: int = 3, lang: str = "en",
    posterior: CausePosterior | None = None,
) -> list[ActionScore]:
    """Actions in expected-cost-of-repair order: P(resolves) per minute of cost plus risk."""
    p_resolves, _ = resolve_probabilities(kb, evidence, floor=floor, posterior=posterior)
    return [s for s in action_scores(kb, p_resolves, lang) if s.p_resolves >= floor][:top]


def _normalise(text: str) -> str:
    """NFKC, casefolded, without the katakana long-vowel mark: "サーバー" and "サーバ" are one word."""
    return unicodedata.normalize("NFKC", text).casefold().replace("ー", "")


STEM_CHARS = 5
"""Words agree when their first five letters do: "restarting" says "restart", "rebuilt" says "rebuild"."""
LATIN_WORD = re.compile(r"[^\W\u3040-\u30ff\u3400-\u9fff]+")
"""A word of a script written with spaces; Japanese runs are matched as substrings instead."""
JAPANESE_SEPARATORS = re.compile(r"[^\u3040-\u30ff\u3400-\u9fff]+|[をがはにでともへや・、。]")
"""What separates the content words of a Japanese phrase: particles, punctuation and Latin words."""
KANA_ENDING = re.compile(r"[\u3041-\u309f]+$")
"""Hiragana at the end of a Japanese word is its inflection: 作り直す, 作り直した and 作り直し share 作り直."""


def _japanese_stems(phrase: str) -> list[str]:
    """The content words of a Japanese phrase without their inflections ("サーバを作り直す" → サーバ, 作り直)."""
    stems = []
    for chunk in JAPANESE_SEPARATORS.split(phrase):
        stem = KANA_ENDING.sub("", chunk) or chunk  # a word all in hiragana ("かけ") is kept whole
        if stem:
            stems.append(stem)
    return stems


def _stem_match(phrase: str, words: set[str], said: str) -> bool:
    """Every word of the phrase appears in the text, up to its ending: Latin words by their first
    letters, Japanese words (inflection removed) anywhere in the text."""
    normalised = _normalise(phrase)
    tokens = LATIN_WORD.findall(normalised)
    stems = _japanese_stems(normalised)
    if not tokens and not stems:
        return False
    latin = all(any(w[:STEM_CHARS] == t[:STEM_CHARS] for w in words) for t in tokens)
    return latin and all(stem in said for stem in stems)


def match_fix_text(kb: KnowledgeBase, text: str) -> list[tuple[str, float]]:
    """Known fixes that a free-text anecdote refers to, best first, by aliases and keywords.

    An alias (or the fix's own id) whose every word appears in the text, up to word endings, counts
    most; each keyword counts once. Anything under the threshold is "not in the knowledge base".
    Japanese is written without spaces, so its words are found inside the text, inflections aside
    ("サーバを作り直したら直った" names the alias "サーバを作り直す").
    """
    said = _normalise(text)
    words = set(LATIN_WORD.findall(said))
    scored = []
    for fix in kb.fixes.values():
        score = 0.0
        for alias in [*fix.aliases, fix.id.replace("_", " ")]:
            if _normalise(alias) in said or _stem_match(alias, words, said):
                score += 3.0
        for keyword in fix.keywords:
            stem = _normalise(keyword)
            if " " in stem or len(_japanese_stems(stem)) > 1:
                score += 1.5 if stem in said or _stem_match(stem, words, said) else 0.0
            elif any(w.startswith(stem) for w in words) or (not stem.isascii() and _stem_match(stem, words, said)):
                score += 1.0
        if score >= TEXT_MATCH_THRESHOLD:
            scored.append((fix.id, score))
    return sorted(scored, key=lambda item: -item[1])


def _verdict(p: float, best: ActionScore | None, fix_id: str, lang: str, kb: KnowledgeBase) -> str:
    title = kb.fixes[fix_id].title.get(lang)
    if p >= 0.6:
        head = f"{title} is likely to resolve this ({p:.0%})."
    elif p >= 0.3:
        head = f"{title} may resolve this ({p:.0%}), but it is far from certain."
    elif p >= 0.15:
        head = f"{title} is unlikely to resolve this ({p:.0%})."
    else:
        head = f"{title} is very unlikely to resolve this ({p:.0%}): the evidence points elsewhere."
    if best is not None and best.id != fix_id:
        head += f" Better first: {best.title} ({best.p_resolves:.0%} in about {best.cost_minutes:g} minutes)."
    return head


def assess_fix(
    kb: KnowledgeBase, evidence: Evidence, fix_id: str, *, lang: str = "en", floor: float = DEFAULT_FLOOR
) -> Assessment:
    """How likely a proposed fix is to help, why (citing the user's answers), and what to do instead."""
    if fix_id not in kb.fixes:
        raise EvidenceError(f"unknown fix '{fix_id}'", {"fix": fix_id, "valid_fixes": sorted(kb.fixes)})
    fix = kb.fixes[fix_id]
    p_resolves, causes = resolve_probabilities(kb, evidence, floor=floor)
    if fix_id not in p_resolves:
        p_resolves.update(resolve_probabilities(kb, evidence, fixes=[fix_id])[0])
    p = p_resolves[fix_id]
    scores = action_scores(kb, p_resolves, lang)
    alternatives = [s for s in scores if s.id != fix_id and s.p_resolves >= floor][:3]
    targets = sorted(fix.removes, key=lambda c: -causes[c] * fix.removes[c])
    weights = weights_of_evidence(kb, evidence, targets[:3], causes) if evidence.observed() else {}

    reasons: list[Reason] = []
    for cause in targets[:3]:
        title = kb.causes[cause].title.get(lang)
        moved = [w for w in weights.get(cause, []) if abs(w.woe_bits) >= 0.5][:3]
        text = f"It removes {title} ({fix.removes[cause]:.0%} effective), which is {causes[cause]:.0%} likely now"
        if moved:
            against = [f"{w.question}={w.answer}" for w in moved if w.woe_bits < 0]
            for_ = [f"{w.question}={w.answer}" for w in moved if w.woe_bits > 0]
            if against:
                text += f"; your answers {', '.join(against)} speak against it"
            if for_:
                text += f"; your answers {', '.join(for_)} speak for it"
        reasons.append(Reason(text + ".", tuple(Citation(w.question, w.answer) for w in moved)))
    leader = max(causes, key=lambda c: causes[c])
    if leader not in fix.removes:
        reasons.append(Reason(
            f"It does not touch the leading cause, {kb.causes[leader].title.get(lang)} ({causes[leader]:.0%})."
        ))
    reasons.append(Reason(f"It genuinely helps when: {fix.works_when.get(lang)}"))
    for cause, chance in fix.adds.items():
        reasons.append(Reason(
            f"It can introduce {kb.causes[cause].title.get(lang)} ({chance:.0%} chance), a new fault to repair."
        ))
    check_first = [
        f"{kb.causes[c].title.get(lang)}: {kb.causes[c].confirm.get(lang)}" for c in targets[:2] if causes[c] > 0.01
    ]
    if leader not in fix.removes:
        check_first.insert(0, f"{kb.causes[leader].title.get(lang)}: {kb.causes[leader].confirm.get(lang)}")
    risk = {
        "reversible": fix.risk.reversible,
        "downtime_minutes": fix.risk.downtime_minutes,
        "collateral_minutes": fix.risk.collateral_minutes,
        "may_break": list(fix.risk.may_break),
        "text": fix.risk.text.get(lang),
    }
    best = alternatives[0] if alternatives else None
    return Assessment(
        fix_id=fix_id, title=fix.title.get(lang), p_resolves=p,
        verdict=_verdict(p, best if best and best.efficiency > p / (fix.cost_minutes + fix.risk.collateral_minutes)
                         else None, fix_id, lang, kb),
        reasons=reasons, check_first=check_first, risk=risk, alternatives=alternatives,
        cause_probabilities=causes,
    )

