"""Simulated sessions: how often each questioning policy ends on a true cause, with how many questions.

A run draws a truth (exactly one or two causes present, chosen in proportion to their priors), samples
one consistent world from the network given that truth (the complaint present, as in every real
ticket), and answers whatever a policy asks from that world. Every policy sees the same worlds and
the same stop on confidence (the leading cause, or the two leading causes together, at the stop
probability); our policies also stop when no question is worth its minutes.

Sessions are stepped together: each step puts every open session's evidence through the junction
tree in one batched propagation (and our policies' look-ahead in one more), so thousands of
sessions take minutes, not hours. The policies run the same scoring functions as
``next_questions``.

Two bounds say how far any policy could go. Fano's inequality gives a floor on questions from the
entropy of the truth. On packs small enough to enumerate every subset of questions, the hindsight
oracle knows the world: its success (some set of answers puts a true cause first) bounds any
policy's success, and its fewest questions and minutes to a confident true leader bound what any
policy needs for that.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.compiled.cache import compiled_model, inference_network
from engine.infer.voi import mutual_information_gains
from engine.kb.knowledge import KnowledgeBase
from engine.model.network import DiscreteNetwork
from engine.reason import decision
from engine.reason.at_work import at_work_scores, conjunction_requirements
from engine.reason.evidence import complaint_clamp
from engine.reason.questions import LEADING_CAUSES, Objective, StopPolicy

POLICIES = ("rootward", "rootward_all", "rootward_leading", "fixed", "cheapest", "random")
"""``rootward``: the default objective (the decision); ``rootward_all``/``rootward_leading``: the
sums of mutual informations over all causes and over the leading ones; ``fixed``: the order of
questions.yaml; ``cheapest``: by cost, ties in file order; ``random``: a fresh order per session."""
OBJECTIVE_OF: dict[str, Objective] = {"rootward": "decision", "rootward_all": "all", "rootward_leading": "leading"}
MAX_REJECTIONS = 1000
CHUNK = 256
"""Sessions per batched propagation: bounds memory (rows × tree size) while amortising numpy calls."""
HINDSIGHT_MAX_QUESTIONS = 10
"""The hindsight oracle enumerates 2^n subsets of questions per world; beyond this it is skipped."""


def sample_world(network: DiscreteNetwork, truth: set[str], causes: list[str], complaint: str | None,
                 rng: np.random.Generator) -> dict[str, str]:
    """Ancestral sampling with the causes fixed; rejected until the complaint is present."""
    rows = sample_worlds(network, [tuple(truth)], causes, complaint, rng)
    return {name: network.variables[name].states[int(rows[name][0])] for name in network.variables}


def sample_worlds(network: DiscreteNetwork, truths: list[tuple[str, ...]], causes: list[str],
                  complaint: str | None, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One world per truth, state indices per variable, sampled for all truths at once.

    Rows whose complaint came out absent are drawn again (rejection), up to ``MAX_REJECTIONS`` rounds.
    """
    n = len(truths)
    present = {c: np.array([c in t for t in truths]) for c in causes}
    worlds = {name: np.zeros(n, dtype=np.intp) for name in network.variables}
    pending = np.arange(n)
    for _ in range(MAX_REJECTIONS):
        for name, variable in network.variables.items():
            if name in present:
                worlds[name][pending] = np.where(present[name][pending], variable.states.index("present"), 0)
                continue
            index = tuple(worlds[p][pending] for p in variable.parents)
            rows = variable.cpt[index] if variable.parents else np.broadcast_to(variable.cpt, (len(pending),
                                                                                            variable.cardinality))
            draws = rng.random(len(pending))[:, None]
            worlds[name][pending] = np.minimum((np.cumsum(rows, axis=1) < draws).sum(axis=1), variable.cardinality - 1)
        if complaint is None:
            return worlds
        absent = worlds[complaint][pending] != network.variables[complaint].states.index("present")
        pending = pending[absent]
        if len(pending) == 0:
            return worlds
    stuck = sorted({c for r in pending for c in truths[r]})
    raise RuntimeError(f"the truths with {stuck} almost never produce the complaint")


def fano_lower_bound(priors: np.ndarray, error_rate: float, bits_per_question: float) -> float:
    """Questions needed at least to identify the single present cause with this error rate."""
    p = priors / priors.sum()
    entropy = float(-(p[p > 0] * np.log2(p[p > 0])).sum())
    n = len(p)
    e = min(max(error_rate, 0.0), 1.0)
    binary = 0.0 if e in (0.0, 1.0) else -(e * math.log2(e) + (1 - e) * math.log2(1 - e))
    return max(0.0, entropy - binary - e * math.log2(max(n - 1, 1))) / bits_per_question


@dataclass
class _Batch:
    """The pack's questions as arrays: answers of every world, what each session has asked."""

    kb: KnowledgeBase
    questions: list[str]
    cards: list[int]
    answers: np.ndarray  # (runs, questions): index of each world's answer
    cost: np.ndarray  # (questions,)

    def likelihoods(self, asked: np.ndarray, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Hard evidence of the asked questions for the sessions ``rows`` (plus the complaint)."""
        lams = complaint_clamp(self.kb)
        for j, q in enumerate(self.questions):
            seen = asked[rows, j]
            if not seen.any():
                continue
            lam = np.ones((len(rows), self.cards[j]))
            lam[seen] = 0.0
            lam[np.flatnonzero(seen), self.answers[rows[seen], j]] = 1.0
            lams[q] = lam
        return lams


def _cause_probabilities(kb: KnowledgeBase, lams: dict[str, np.ndarray], n: int) -> np.ndarray:
    """P(cause | e) per session; unasked questions are barren here, so the tree is pruned to the rest.

    The leading combination never needs checking apart: P(A and B) ≤ P(A), so a combination reaches
    the stop probability only after its own leading cause has.
    """
    causes = list(kb.causes)
    base = compiled_model(kb).tree.propagate(lams, n, targets=causes, barren=True)
    return np.stack([1.0 - base.marginal(c)[:, 0] for c in causes], axis=1)


def _at_work(kb: KnowledgeBase, lams: dict[str, np.ndarray], probabilities: np.ndarray) -> np.ndarray:
    """P(at work | e) where it can change the leader or the stop, as in ``next_questions``.

    At work equals present for every cause but the latent ones, and never exceeds it, so only rows
    whose most probably present cause is latent can have another leader or a lower top score; the
    extra batched pass runs on those rows alone. Elsewhere the returned row is P(present).
    """
    causes = list(kb.causes)
    requirements = conjunction_requirements(kb)
    rows = np.flatnonzero(np.isin(probabilities.argmax(axis=1), [causes.index(c) for c in requirements]))
    if rows.size == 0:
        return probabilities
    subset = {name: lam if lam.shape[0] == 1 else lam[rows] for name, lam in lams.items()}
    working = np.array(probabilities, copy=True)
    working[rows] = at_work_scores(compiled_model(kb).tree, subset, probabilities[rows], causes, requirements)
    return working


def _scores(name: str, kb: KnowledgeBase, lams: dict[str, np.ndarray], n: int, questions: list[str]
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """P(cause | e) per session; per session and question the policy's gain in bits and, for the
    decision objective, the expected drop in the risk of acting on a wrong cause."""
    tree = compiled_model(kb).tree
    if name in ("rootward", "rootward_leading"):
        look = decision.look_ahead(kb, tree, lams, n, questions)
        if name == "rootward":
            information = decision.information_of(look, questions)
            risks = decision.risk_drops_of(look, questions)
            drops = np.stack([risks[q] for q in questions], axis=1)
            return look.cause_probabilities, np.stack([information[q] for q in questions], axis=1), drops
        # the leading causes are the first hypotheses: Σ I(Q; C) over them, as in next_questions
        information = decision.information_of(look, questions, LEADING_CAUSES)
        return look.cause_probabilities, np.stack([information[q] for q in questions], axis=1), None
    voi = mutual_information_gains(tree, lams, n, causes=list(kb.causes), candidates=questions)
    probabilities = np.stack([1.0 - voi.cause_probs[c][:, 0] for c in kb.causes], axis=1)
    return probabilities, np.stack([voi.gain[q] for q in questions], axis=1), None


def _widen(batch: _Batch, lams: dict[str, np.ndarray], asked: np.ndarray, stuck: np.ndarray, choice: np.ndarray,
           worthless: np.ndarray, policy: StopPolicy) -> None:
    """The decision objective once stuck (``questions.widened_gains``): for the ``stuck`` rows, ask by
    the information about every cause while some question is worth the causes' exchange rate.
    Updates ``choice`` and ``worthless`` in place."""
    rows = np.flatnonzero(stuck)
    if rows.size == 0:
        return
    subset = {name: lam if lam.shape[0] == 1 else lam[rows] for name, lam in lams.items()}
    voi = mutual_information_gains(compiled_model(batch.kb).tree, subset, len(rows), causes=list(batch.kb.causes),
                                   candidates=batch.questions)
    gains = np.maximum(np.stack([voi.gain[q] for q in batch.questions], axis=1), 0.0)
    rate = np.where(asked[rows], -np.inf, gains / batch.cost)
    best = rate.argmax(axis=1)
    going = rate[np.arange(len(rows)), best] >= policy.rate("all")
    choice[rows[going]] = best[going]
    worthless[rows[going]] = False


def _step(name: str, batch: _Batch, asked: np.ndarray, rows: np.ndarray, ranks: np.ndarray,
          policy: StopPolicy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For sessions ``rows`` with distinct evidence: the leader, whether to stop, and the next question."""
    lams = batch.likelihoods(asked, rows)
    if name.startswith("rootward"):
        probabilities, gains, drops = _scores(name, batch.kb, lams, len(rows), batch.questions)
        rate = np.where(asked[rows], -np.inf, gains / batch.cost)
        choice = rate.argmax(axis=1)
        worthless = rate[np.arange(len(rows)), choice] < policy.rate(OBJECTIVE_OF[name])
        if drops is not None:  # the decision's stop also keeps a question that may change the leader
            worthless &= np.where(asked[rows], 0.0, drops / batch.cost).max(axis=1) < policy.rate("decision")
    else:
        probabilities, drops = _cause_probabilities(batch.kb, lams, len(rows)), None
        choice = np.where(asked[rows], np.inf, ranks[rows]).argmin(axis=1)
        worthless = np.zeros(len(rows), dtype=bool)
    working = _at_work(batch.kb, lams, probabilities)
    confident = working.max(axis=1) >= policy.probability
    if drops is not None:
        _widen(batch, lams, asked[rows], worthless & ~confident & ~asked[rows].all(axis=1), choice, worthless, policy)
    done = confident | asked[rows].all(axis=1) | worthless
    return working.argmax(axis=1), done, choice


def _run_policy(name: str, batch: _Batch, truths: list[tuple[str, ...]], policy: StopPolicy,
                rng: np.random.Generator, progress: Callable[[int], None] | None) -> dict[str, float]:
    """Step all open sessions together; sessions with the same evidence so far are computed once
    (early on most share it: every session starts from nothing, and answers are mostly 'no')."""
    runs, n_q = batch.answers.shape
    causes = list(batch.kb.causes)
    asked = np.zeros((runs, n_q), dtype=bool)
    open_ = np.ones(runs, dtype=bool)
    leader = np.zeros(runs, dtype=int)
    if name == "cheapest":
        ranks = np.broadcast_to(np.argsort(np.argsort(batch.cost, kind="stable")), (runs, n_q))
    elif name == "random":
        ranks = np.argsort(rng.random((runs, n_q)), axis=1)
    else:
        ranks = np.broadcast_to(np.arange(n_q), (runs, n_q))
    while open_.any():
        active = np.flatnonzero(open_)
        # evidence and, for fixed orders, the order itself decide the step: one computation per key
        key = np.concatenate([np.where(asked[active], batch.answers[active] + 1, 0),
                              ranks[active] if name == "random" else np.zeros((len(active), 0), dtype=int)], axis=1)
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
        representatives = active[first]
        leaders = np.zeros(len(first), dtype=int)
        done = np.zeros(len(first), dtype=bool)
        choice = np.zeros(len(first), dtype=int)
        for start in range(0, len(first), CHUNK):
            part = slice(start, start + CHUNK)
            leaders[part], done[part], choice[part] = _step(name, batch, asked, representatives[part], ranks, policy)
        leader[active] = leaders[inverse]
        finished = done[inverse]
        going = active[~finished]
        asked[going, choice[inverse][~finished]] = True
        open_[active[finished]] = False
        if progress is not None and finished.any():
            progress(int(finished.sum()))
    success = np.array([causes[leader[r]] in truths[r] for r in range(runs)], dtype=float)
    questions = asked.sum(axis=1).astype(float)
    minutes = asked.astype(float) @ batch.cost
    root = math.sqrt(runs)
    return {
        "success_rate": float(success.mean()),
        "success_se": float(success.std(ddof=1) / root) if runs > 1 else 0.0,
        "mean_questions": float(questions.mean()),
        "questions_se": float(questions.std(ddof=1) / root) if runs > 1 else 0.0,
        "median_questions": float(np.median(questions)),
        "mean_minutes": float(minutes.mean()),
        "minutes_se": float(minutes.std(ddof=1) / root) if runs > 1 else 0.0,
        "median_minutes": float(np.median(minutes)),
    }


def hindsight(batch: _Batch, truths: list[tuple[str, ...]], policy: StopPolicy) -> dict[str, float] | None:
    """The oracle that knows each world: best success any policy can reach, and the fewest questions
    and minutes to a confident true leader where one is reachable (None on packs too large)."""
    kb = batch.kb
    runs, n_q = batch.answers.shape
    if n_q > HINDSIGHT_MAX_QUESTIONS:
        return None
    causes = list(kb.causes)
    subsets = np.array(list(itertools.product([False, True], repeat=n_q)), dtype=bool)
    distinct, which = np.unique(batch.answers, axis=0, return_inverse=True)
    which = which.reshape(-1)
    n_s = len(subsets)
    asked = np.tile(subsets, (len(distinct), 1))
    expanded = _Batch(kb, batch.questions, batch.cards, np.repeat(distinct, n_s, axis=0), batch.cost)
    lams = expanded.likelihoods(asked, np.arange(len(asked)))
    working = _at_work(kb, lams, _cause_probabilities(kb, lams, len(asked)))
    leaders = working.argmax(axis=1).reshape(len(distinct), n_s)
    confident = (working.max(axis=1) >= policy.probability).reshape(len(distinct), n_s)
    counts = subsets.sum(axis=1)
    minutes = subsets.astype(float) @ batch.cost
    success, fewest, cheapest = [], [], []
    for r in range(runs):
        right = np.array([causes[leader] in truths[r] for leader in leaders[which[r]]])
        success.append(bool(right.any()))
        reach = right & confident[which[r]]
        if reach.any():
            fewest.append(float(counts[reach].min()))
            cheapest.append(float(minutes[reach].min()))
    return {
        "success_rate": float(np.mean(success)),
        "confident_reachable": len(fewest) / runs,
        "mean_questions": float(np.mean(fewest)) if fewest else 0.0,
        "mean_minutes": float(np.mean(cheapest)) if cheapest else 0.0,
    }


def _policy_report(args: tuple[str, _Batch, list[tuple[str, ...]], StopPolicy, int]) -> dict[str, float]:
    name, batch, truths, policy, seed = args
    return _run_policy(name, batch, truths, policy, np.random.default_rng(seed), None)


def simulate(
    kb: KnowledgeBase,
    runs: int,
    *,
    seed: int = 0,
    faults: int = 1,
    policy: StopPolicy | None = None,
    progress: Callable[[], None] | None = None,
    policies: tuple[str, ...] = POLICIES,
    workers: int = 1,
) -> dict[str, object]:
    """Run every policy on the same sampled worlds; returns a JSON-ready report.

    ``progress`` is called ``runs`` times in all, in step with the sessions finished over every
    policy (with ``workers`` > 1, as each policy completes). ``workers`` > 1 runs the policies in
    that many forked processes (each policy's sessions stay batched within its process).
    """
    unknown = [p for p in policies if p not in POLICIES]
    if unknown:
        raise ValueError(f"unknown policies {unknown}; valid: {', '.join(POLICIES)}")
    policy = policy or StopPolicy()
    rng = np.random.default_rng(seed)
    network = inference_network(kb)
    causes = list(kb.causes)
    priors = np.array([1.0 - network.variables[c].cpt[0] for c in causes])
    questions = list(kb.questions)
    truths = [tuple(str(c) for c in rng.choice(causes, size=faults, replace=False, p=priors / priors.sum()))
              for _ in range(runs)]
    worlds = sample_worlds(network, truths, causes, kb.pack.complaint, rng)
    answers = np.stack([worlds[q] for q in questions], axis=1) if questions else np.zeros((runs, 0), dtype=int)
    batch = _Batch(kb, questions, [len(kb.questions[q].answers) for q in questions], answers,
                   np.array([kb.questions[q].cost_minutes for q in questions], dtype=float))
    compiled_model(kb)  # compiled (or loaded) once, before any fork
    seeds = [int(s) for s in rng.integers(0, 2**32 - 1, size=len(policies))]
    jobs = [(name, batch, truths, policy, s) for name, s in zip(policies, seeds, strict=True)]

    finished = [0, 0]  # (session, policy) pairs finished; progress calls made

    def advance(count: int) -> None:
        finished[0] += count
        due = finished[0] // len(jobs)
        while progress is not None and finished[1] < due:
            finished[1] += 1
            progress()

    if workers > 1 and len(jobs) > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(min(workers, len(jobs))) as pool:
            results = []
            for report in pool.imap(_policy_report, jobs):
                results.append(report)
                advance(runs)
    else:
        results = [_run_policy(name, b, t, p, np.random.default_rng(s), advance) for name, b, t, p, s in jobs]
    reports = dict(zip(policies, results, strict=True))
    ours = reports.get("rootward", next(iter(reports.values())))
    most_bits = max(math.log2(len(q.answers)) for q in kb.questions.values())
    bound = fano_lower_bound(priors, 1.0 - ours["success_rate"], bits_per_question=most_bits)
    return {
        "kb": {"id": kb.id, "version": kb.pack.version, "hash": kb.version_hash},
        "runs": runs,
        "faults": faults,
        "seed": seed,
        "stop_probability": policy.probability,
        "exchange_rate": policy.exchange_rate,
        "exchange_rates": {name: policy.rate(OBJECTIVE_OF[name]) for name in policies if name in OBJECTIVE_OF},
        "policies": reports,
        "lower_bound_questions": bound,
        "ratio_to_lower_bound": ours["mean_questions"] / bound if bound > 0 else None,
        "hindsight": hindsight(batch, truths, policy),
    }
