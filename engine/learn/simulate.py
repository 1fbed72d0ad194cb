"""Simulated sessions: how many questions and minutes each questioning policy needs.

A run draws a truth (exactly one or two causes present, chosen in proportion to their priors), samples
one consistent world from the network given that truth (the complaint present, as in every real
ticket), and answers whatever a policy asks from that world. Comparing our value-of-information
policy with the fixed order of questions.yaml and with random order, on the same worlds, shows what
the questionnaire buys; Fano's inequality gives a floor no policy can beat.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine.kb.knowledge import KnowledgeBase
from engine.model.cache import inference_network
from engine.model.network import DiscreteNetwork
from engine.reason.evidence import Evidence
from engine.reason.inference import propagate
from engine.reason.questions import Objective, StopPolicy, next_questions
from engine.reason.ranking import abnormal_probability

POLICIES = ("rootward", "rootward_leading", "fixed", "random")
"""``rootward``: the default objective (all causes); ``rootward_leading``: the leading causes only."""
MAX_REJECTIONS = 1000


@dataclass(frozen=True)
class Run:
    truth: tuple[str, ...]
    questions: int
    minutes: float
    leader: str
    success: bool


@dataclass
class PolicyReport:
    runs: list[Run] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        questions = np.array([r.questions for r in self.runs], dtype=float)
        minutes = np.array([r.minutes for r in self.runs], dtype=float)
        return {
            "success_rate": float(np.mean([r.success for r in self.runs])) if self.runs else 0.0,
            "mean_questions": float(questions.mean()) if self.runs else 0.0,
            "median_questions": float(np.median(questions)) if self.runs else 0.0,
            "mean_minutes": float(minutes.mean()) if self.runs else 0.0,
            "median_minutes": float(np.median(minutes)) if self.runs else 0.0,
        }


def sample_world(network: DiscreteNetwork, truth: set[str], causes: list[str], complaint: str | None,
                 rng: np.random.Generator) -> dict[str, str]:
    """Ancestral sampling with the causes fixed; rejected until the complaint is present."""
    for _ in range(MAX_REJECTIONS):
        world: dict[str, int] = {}
        for name, variable in network.variables.items():
            if name in causes:
                world[name] = variable.states.index("present") if name in truth else 0
                continue
            row = variable.cpt[tuple(world[p] for p in variable.parents)]
            world[name] = int(rng.choice(len(row), p=row))
        states = {n: network.variables[n].states[i] for n, i in world.items()}
        if complaint is None or states[complaint] == "present":
            return states
    raise RuntimeError(f"the truth {sorted(truth)} almost never produces the complaint")


def fano_lower_bound(priors: np.ndarray, error_rate: float, bits_per_question: float) -> float:
    """Questions needed at least to identify the single present cause with this error rate."""
    p = priors / priors.sum()
    entropy = float(-(p[p > 0] * np.log2(p[p > 0])).sum())
    n = len(p)
    e = min(max(error_rate, 0.0), 1.0)
    binary = 0.0 if e in (0.0, 1.0) else -(e * math.log2(e) + (1 - e) * math.log2(1 - e))
    return max(0.0, entropy - binary - e * math.log2(max(n - 1, 1))) / bits_per_question


def _leader(kb: KnowledgeBase, evidence: Evidence) -> tuple[str, float]:
    result = propagate(kb, [evidence], targets=list(kb.causes))
    probabilities = {c: float(abnormal_probability(result.marginal(c))[0]) for c in kb.causes}
    leader = max(probabilities, key=lambda c: probabilities[c])
    return leader, probabilities[leader]


def _run(kb: KnowledgeBase, world: dict[str, str], truth: tuple[str, ...], choose: Callable[[Evidence], str | None],
         policy: StopPolicy) -> Run:
    evidence = Evidence()
    minutes = 0.0
    while True:
        leader, probability = _leader(kb, evidence)
        if probability >= policy.probability:
            break
        question = choose(evidence)
        if question is None:
            break
        evidence = Evidence({**evidence.answers, question: world[question]})
        minutes += kb.questions[question].cost_minutes
    return Run(truth, len(evidence.answers), minutes, leader, leader in truth)


def simulate(
    kb: KnowledgeBase,
    runs: int,
    *,
    seed: int = 0,
    faults: int = 1,
    policy: StopPolicy | None = None,
    progress: Callable[[], None] | None = None,
) -> dict[str, object]:
    """Run every policy on the same sampled worlds; returns a JSON-ready report."""
    policy = policy or StopPolicy()
    rng = np.random.default_rng(seed)
    network = inference_network(kb)
    causes = list(kb.causes)
    priors = np.array([1.0 - network.variables[c].cpt[0] for c in causes])
    order = list(kb.questions)
    reports = {name: PolicyReport() for name in POLICIES}
    for _ in range(runs):
        truth = tuple(str(c) for c in rng.choice(causes, size=faults, replace=False, p=priors / priors.sum()))
        world = sample_world(network, set(truth), causes, kb.pack.complaint, rng)
        shuffled = list(rng.permutation(order))

        def ours(objective: Objective) -> Callable[[Evidence], str | None]:
            def choose(evidence: Evidence) -> str | None:
                suggestion = next_questions(kb, evidence, policy=policy, limit=1, objective=objective)
                return None if suggestion.stop or not suggestion.questions else suggestion.questions[0].id

            return choose

        def in_order(sequence: list[str]) -> Callable[[Evidence], str | None]:
            return lambda evidence: next((q for q in sequence if q not in evidence.answers), None)

        reports["rootward"].runs.append(_run(kb, world, truth, ours("all"), policy))
        reports["rootward_leading"].runs.append(_run(kb, world, truth, ours("leading"), policy))
        reports["fixed"].runs.append(_run(kb, world, truth, in_order(order), policy))
        reports["random"].runs.append(_run(kb, world, truth, in_order(shuffled), policy))
        if progress is not None:
            progress()
    ours_summary = reports["rootward"].summary()
    most_bits = max(math.log2(len(q.answers)) for q in kb.questions.values())
    bound = fano_lower_bound(priors, 1.0 - ours_summary["success_rate"], bits_per_question=most_bits)
    return {
        "kb": {"id": kb.id, "version": kb.pack.version, "hash": kb.version_hash},
        "runs": runs,
        "faults": faults,
        "seed": seed,
        "stop_probability": policy.probability,
        "exchange_rate": policy.exchange_rate,
        "policies": {name: report.summary() for name, report in reports.items()},
        "lower_bound_questions": bound,
        "ratio_to_lower_bound": ours_summary["mean_questions"] / bound if bound > 0 else None,
    }
