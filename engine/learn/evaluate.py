"""How well does the pack rank causes on cases it never saw? A frozen test split, k-fold
cross-validation, and sensitivity.

The cases are split once by id (``engine.learn.split``): about a third form the frozen test split,
which nothing ever learns from. Cross-validation runs on the rest: every fold starts from the
*expert* CPDs (never from ``learned.yaml``), learns on the other folds by EM and scores only its own
held-out cases, so no case is ever scored by a model that learned from it. The frozen split is then
scored once by the model learned from the whole learning split, and reported only in totals (overall,
per family, coverage), never case by case, so that nobody tunes the pack on it. Cross-validation
still measures how well the pack fits the cases its authors knew; the frozen split is the figure to
quote. Scores are computed from the answers alone; the confirmed causes are what is being predicted.

A case's **family** is the category of its first confirmed cause. **Coverage** is the share of cases
with a confirmed cause that the pack has a node for; a case whose root cause the pack lacks records
it as ``unmodelled_cause`` and counts against coverage only: it cannot be ranked, so the accuracy
figures are over covered cases, and top-k × coverage is the share of *all* cases with a top-k hit.

Metrics: top-1 / top-3 hit rates (a hit is any confirmed cause, or a cause that refines one, within
the first k of the ranking by P(at work) that ``rank`` shows), the Brier score and log loss of
P(cause present) over every (case, cause) pair whose truth is known (confirmed
causes are present; with ``causes_complete`` the others are absent; otherwise they are left out),
a calibration table (and plot), the most frequent confusions, and a sensitivity table: which single
prior or CPD entry, with its odds halved or doubled, changes the leading cause (by P(present)) of
which cases under the expert model. That is the KB-MODELLING honesty check made mechanical: a conclusion that flips
when one number moves by a factor of two was never supported by the evidence.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.case_schema import Case
from engine.infer.junction_tree import JunctionTree
from engine.kb.knowledge import KnowledgeBase
from engine.learn.cases import credited_causes, refinement_map
from engine.learn.em import DEFAULT_ESS, apply_learned, family_posteriors, fit, learnable_nodes
from engine.learn.split import SPLIT_RULE, split_cases
from engine.model.network import DiscreteNetwork, FloatArray
from engine.reason.at_work import at_work_scores, conjunction_requirements

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DEFAULT_FOLDS = 5
CALIBRATION_BINS = 10
PROBABILITY_CLIP = 1e-6
SENSITIVITY_FACTORS = (0.5, 2.0)
SENSITIVITY_CPD_ENTRIES = 20
TOP_CONFUSIONS = 10
FROZEN_SPLIT_FOLD = -1
"""The fold recorded for frozen-split cases: they belong to no cross-validation fold."""


@dataclass(frozen=True)
class ScoredCase:
    """One held-out case: its fold, what was confirmed, and the model's ranking of causes."""

    id: str
    fold: int
    confirmed: list[str]
    ranking: list[tuple[str, float]]
    """(cause, P(present)) in ranking order: by P(at work), as ``rank`` orders them."""
    credited: frozenset[str] = frozenset()
    """Causes that count as a hit: the confirmed ones and every cause that refines one of them."""

    @property
    def ranked_ids(self) -> list[str]:
        return [c for c, _ in self.ranking]

    def hits(self) -> frozenset[str]:
        return self.credited | frozenset(self.confirmed)

    def rank_of_confirmed(self) -> int:
        """1-based rank of the best-ranked confirmed cause (or cause refining one)."""
        hits = self.hits()
        return min(i + 1 for i, c in enumerate(self.ranked_ids) if c in hits)


@dataclass
class Evaluation:
    """The report behind ``rootward evaluate``; ``as_dict`` is the JSON shape (extend, never rename)."""

    pack: str
    kb_hash: str
    folds: int
    ess: float
    scored: list[ScoredCase]
    brier: float
    log_loss: float
    calibration: list[dict[str, Any]]
    confusions: list[dict[str, Any]]
    sensitivity: list[dict[str, Any]] = field(default_factory=list)
    fold_training: dict[int, list[str]] = field(default_factory=dict)
    plot: str | None = None
    per_family: list[dict[str, Any]] = field(default_factory=list)
    coverage: dict[str, Any] = field(default_factory=dict)
    test_split: dict[str, Any] = field(default_factory=dict)
    """The frozen split's totals (see ``frozen_split_report``); never its cases one by one."""
    test_training: list[str] = field(default_factory=list)
    """The ids the frozen split's model learned from: the whole learning split."""
    date: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).date().isoformat())

    @property
    def n_cases(self) -> int:
        return len(self.scored)

    def top(self, k: int) -> float:
        """Share of cases with a top-k hit (any confirmed cause within the first k)."""
        hits = [any(c in s.hits() for c in s.ranked_ids[:k]) for s in self.scored]
        return float(np.mean(hits)) if hits else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "pack": self.pack,
            "kb_hash": self.kb_hash,
            "n_cases": self.n_cases,
            "folds": self.folds,
            "ess": self.ess,
            "top1": round(self.top(1), 4),
            "top3": round(self.top(3), 4),
            "brier": round(self.brier, 5),
            "log_loss": round(self.log_loss, 5),
            "calibration": self.calibration,
            "confusions": self.confusions,
            "sensitivity": self.sensitivity,
            "cases": [
                {"id": s.id, "fold": s.fold, "confirmed": s.confirmed, "rank": s.rank_of_confirmed(),
                 "top3": [{"cause": c, "probability": round(p, 4)} for c, p in s.ranking[:3]]}
                for s in self.scored
            ],
            "plot": self.plot,
            "date": self.date,
            "split_rule": SPLIT_RULE,
            "per_family": self.per_family,
            "coverage": self.coverage,
            "test_split": self.test_split,
        }


def assign_folds(cases: Sequence[Case], k: int, seed: int = 0) -> dict[str, int]:
    """Fold of each case id: a seeded shuffle of the sorted ids, dealt round-robin (reproducible)."""
    ids = sorted(c.id for c in cases)
    random.Random(seed).shuffle(ids)
    return {case_id: i % k for i, case_id in enumerate(ids)}


def answer_likelihoods(network: DiscreteNetwork, cases: Sequence[Case]) -> dict[str, FloatArray]:
    """The cases' answers (and nothing else) as one batch of likelihood rows."""
    batch = len(cases)
    likelihoods: dict[str, FloatArray] = {}
    for b, case in enumerate(cases):
        for name, answer in case.answers().items():
            rows = likelihoods.setdefault(name, np.ones((batch, network.cardinality(name))))
            rows[b] = 0.0
            rows[b, network.variables[name].state_index(answer)] = 1.0
    return likelihoods


def cause_posteriors(network: DiscreteNetwork, tree: JunctionTree, cases: Sequence[Case],
                     causes: Sequence[str]) -> FloatArray:
    """P(cause is not in its first state | the case's answers), shape (cases, causes), one batch.

    Only the answers are evidence here: the confirmed causes are what is being predicted.
    """
    result = tree.propagate(answer_likelihoods(network, cases), len(cases), targets=list(causes))
    return np.stack([1.0 - result.marginal(c)[:, 0] for c in causes], axis=1)


def score_cases(network: DiscreteNetwork, cases: Sequence[Case], causes: Sequence[str], fold: int, *,
                kb: KnowledgeBase) -> list[ScoredCase]:
    """Rank every cause for each case under ``network`` as ``rank`` does: by P(at work), with causes
    that refine a confirmed cause counting as hits. ``kb`` supplies the structure ``network`` shares."""
    if not cases:
        return []
    tree = JunctionTree.compile(network)
    probabilities = cause_posteriors(network, tree, cases, causes)
    working = at_work_scores(tree, answer_likelihoods(network, cases), probabilities, causes,
                             conjunction_requirements(kb))
    return _ranked(cases, probabilities, working, causes, fold, refinement_map(kb))


def _ranked(cases: Sequence[Case], probabilities: FloatArray, order_by: FloatArray, causes: Sequence[str],
            fold: int, refines: Mapping[str, str | None]) -> list[ScoredCase]:
    """Causes by decreasing ``order_by`` (P(at work)), then P(present), then id, as ``rank`` orders them."""
    scored = []
    for case, row, key in zip(cases, probabilities, order_by, strict=True):
        order = sorted(range(len(causes)), key=lambda i: (-key[i], -row[i], causes[i]))
        scored.append(ScoredCase(case.id, fold, list(case.confirmed_causes),
                                 [(causes[i], float(row[i])) for i in order],
                                 credited_causes(case.confirmed_causes, refines)))
    return scored


def _check_unique_ids(cases: Sequence[Case]) -> None:
    ids = [c.id for c in cases]
    duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
    if duplicates:
        raise ValueError(f"duplicate case ids: {', '.join(duplicates[:10])}")


def labelled_pairs(scored: Sequence[ScoredCase], cases: dict[str, Case]) -> tuple[FloatArray, FloatArray]:
    """(predicted P(present), truth) for every (case, cause) whose truth is known."""
    predicted: list[float] = []
    truth: list[float] = []
    for item in scored:
        case = cases[item.id]
        for cause, p in item.ranking:
            if cause in case.confirmed_causes:
                predicted.append(p)
                truth.append(1.0)
            elif case.causes_complete:
                predicted.append(p)
                truth.append(0.0)
    return np.array(predicted), np.array(truth)


def calibration_table(predicted: FloatArray, truth: FloatArray, bins: int = CALIBRATION_BINS) -> list[dict[str, Any]]:
    edges = np.linspace(0.0, 1.0, bins + 1)
    table = []
    for i in range(bins):
        upper_ok = predicted <= edges[i + 1] if i == bins - 1 else predicted < edges[i + 1]
        mask = (predicted >= edges[i]) & upper_ok
        n = int(mask.sum())
        table.append({
            "bin": [round(float(edges[i]), 2), round(float(edges[i + 1]), 2)],
            "n": n,
            "mean_predicted": round(float(predicted[mask].mean()), 4) if n else None,
            "observed": round(float(truth[mask].mean()), 4) if n else None,
        })
    return table


def confusion_table(scored: Sequence[ScoredCase], top: int = TOP_CONFUSIONS) -> list[dict[str, Any]]:
    """Top-1 misses as (predicted leader, confirmed cause) pairs, most frequent first."""
    pairs: dict[tuple[str, str], list[str]] = {}
    for item in scored:
        leader = item.ranked_ids[0]
        if leader in item.hits():
            continue
        actual = min(item.confirmed, key=item.ranked_ids.index)
        pairs.setdefault((leader, actual), []).append(item.id)
    ordered = sorted(pairs.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [{"predicted": p, "actual": a, "count": len(ids), "cases": sorted(ids)} for (p, a), ids in ordered[:top]]


def scores(predicted: FloatArray, truth: FloatArray) -> tuple[float, float]:
    """(Brier score, log loss) of labelled (case, cause) pairs; NaN for none."""
    if not predicted.size:
        return float("nan"), float("nan")
    clipped = np.clip(predicted, PROBABILITY_CLIP, 1.0 - PROBABILITY_CLIP)
    brier = float(np.mean((predicted - truth) ** 2))
    log_loss = float(-np.mean(truth * np.log(clipped) + (1 - truth) * np.log(1 - clipped)))
    return brier, log_loss


def _rounded(value: float, digits: int) -> float | None:
    return None if np.isnan(value) else round(value, digits)


def figures(scored: Sequence[ScoredCase], by_id: dict[str, Case]) -> dict[str, Any]:
    """n, top-1, top-3, Brier and log loss of some scored cases (``None`` where there are none)."""
    brier, log_loss = scores(*labelled_pairs(scored, by_id))
    hits = {k: [any(c in s.hits() for c in s.ranked_ids[:k]) for s in scored] for k in (1, 3)}
    return {"n_cases": len(scored),
            "top1": round(float(np.mean(hits[1])), 4) if scored else None,
            "top3": round(float(np.mean(hits[3])), 4) if scored else None,
            "brier": _rounded(brier, 5), "log_loss": _rounded(log_loss, 5)}


def family_of(kb: KnowledgeBase, case: Case) -> str:
    """The category of the case's first confirmed cause (the one its author judged the root)."""
    return kb.causes[case.confirmed_causes[0]].category


def family_figures(kb: KnowledgeBase, scored: Sequence[ScoredCase], by_id: dict[str, Case]) -> list[dict[str, Any]]:
    """``figures`` per family, the largest families first."""
    families: dict[str, list[ScoredCase]] = {}
    for item in scored:
        families.setdefault(family_of(kb, by_id[item.id]), []).append(item)
    rows = [{"family": family, **figures(items, by_id)} for family, items in families.items()]
    return sorted(rows, key=lambda r: (-r["n_cases"], r["family"]))


def coverage_of(cases: Sequence[Case]) -> dict[str, Any]:
    """How many cases have a confirmed cause the pack models (the others name it in ``unmodelled_cause``)."""
    covered = sum(1 for c in cases if c.covered)
    return {"cases": len(cases), "covered": covered,
            "share": round(covered / len(cases), 4) if cases else None}


def frozen_split_report(kb: KnowledgeBase, scored: Sequence[ScoredCase], test: Sequence[Case],
                        learned_from: int) -> dict[str, Any]:
    """The frozen split's totals: overall, per family and coverage, and what its model learned from."""
    by_id = {c.id: c for c in test}
    return {"rule": SPLIT_RULE, "learned_from": learned_from, **figures(scored, by_id),
            "per_family": family_figures(kb, scored, by_id), "coverage": coverage_of(test)}


def shipped_figures(kb: KnowledgeBase, expert: DiscreteNetwork, test: Sequence[Case]) -> dict[str, Any]:
    """The frozen split scored by the model ``rank`` runs on: the expert CPDs, with ``learned.yaml`` over
    them when the pack has a current one.

    The learned-from-the-learning-split model above says what EM would give; this says what a user of the
    pack as shipped gets, which is the figure real incidents meet. ``learn`` drops test-split cases, so a
    shipped ``learned.yaml`` never saw these cases either.
    """
    shipped = apply_learned(kb, expert)
    by_id = {c.id: c for c in test}
    scored = score_cases(shipped, [c for c in test if c.covered], list(kb.causes), FROZEN_SPLIT_FOLD, kb=kb)
    return {"learned": shipped is not expert, **figures(scored, by_id)}


def cross_validate(
    kb: KnowledgeBase,
    cases: Sequence[Case],
    *,
    folds: int = DEFAULT_FOLDS,
    ess: float = DEFAULT_ESS,
    seed: int = 0,
    sensitivity: bool = True,
) -> Evaluation:
    """The frozen test split and k-fold CV on the rest, from the expert CPDs; see the module docstring."""
    from engine.model.compile import compile_network

    _check_unique_ids(cases)
    learning, test = split_cases(cases)
    if len(learning) < 2:
        raise ValueError(f"cross-validation needs at least 2 cases outside the frozen test split ({SPLIT_RULE}), "
                         f"got {len(learning)} of {len(cases)}")
    if folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {folds}")
    k = min(folds, len(learning))
    fold_of = assign_folds(learning, k, seed)
    causes = list(kb.causes)
    learnable = learnable_nodes(kb)
    expert = compile_network(kb)
    scored: list[ScoredCase] = []
    training: dict[int, list[str]] = {}
    for fold in range(k):
        train = [c for c in learning if fold_of[c.id] != fold]
        held_out = [c for c in learning if fold_of[c.id] == fold and c.covered]
        training[fold] = sorted(c.id for c in train)
        model = fit(expert, train, causes=causes, learnable=learnable, ess=ess).network
        scored.extend(score_cases(model, held_out, causes, fold, kb=kb))
    by_id = {c.id: c for c in learning}
    scored.sort(key=lambda s: s.id)
    predicted, truth = labelled_pairs(scored, by_id)
    brier, log_loss = scores(predicted, truth)
    evaluation = Evaluation(
        pack=kb.id, kb_hash=kb.version_hash, folds=k, ess=ess, scored=scored, brier=brier, log_loss=log_loss,
        calibration=calibration_table(predicted, truth), confusions=confusion_table(scored),
        fold_training=training, per_family=family_figures(kb, scored, by_id), coverage=coverage_of(learning),
        test_training=sorted(c.id for c in learning),
    )
    frozen_model = fit(expert, learning, causes=causes, learnable=learnable, ess=ess).network
    frozen_scored = score_cases(frozen_model, [c for c in test if c.covered], causes, FROZEN_SPLIT_FOLD, kb=kb)
    evaluation.test_split = frozen_split_report(kb, frozen_scored, test, len(learning))
    evaluation.test_split["shipped"] = shipped_figures(kb, expert, test)
    if sensitivity:
        evaluation.sensitivity = sensitivity_table(kb, expert, learning)
    return evaluation


# ---------------------------------------------------------------------------------------- sensitivity


def influential_entries(network: DiscreteNetwork, cases: Sequence[Case], questions: Sequence[str],
                        top: int) -> list[tuple[str, tuple[int, ...], int, float]]:
    """Question CPT entries ranked by how much case evidence passes through them.

    The influence of ``P(X = x | u)`` is the posterior mass ``Σ_cases P(U = u | answers)`` of the
    cases that answered ``X = x``: an entry no case's answers touch cannot change any ranking.
    """
    likelihoods = answer_likelihoods(network, cases)
    observed = [q for q in questions if q in likelihoods]
    if not observed:
        return []
    posteriors = family_posteriors(JunctionTree.compile(network), network, likelihoods, len(cases), observed)
    entries: list[tuple[str, tuple[int, ...], int, float]] = []
    for question in observed:
        mass = posteriors.tables[question].sum(axis=0)  # (*parent cards, card)
        for index in itertools.product(*(range(n) for n in mass.shape[:-1])):
            for state in range(mass.shape[-1]):
                if mass[index][state] > 0:
                    entries.append((question, index, state, float(mass[index][state])))
    entries.sort(key=lambda e: -e[3])
    return entries[:top]


def _leaders(probabilities: FloatArray, causes: Sequence[str]) -> list[str]:
    """The leading cause of each row (ties by id, as ``rank`` breaks them)."""
    leaders = []
    for row in probabilities:
        best = max(float(p) for p in row)
        leaders.append(min(c for c, p in zip(causes, row, strict=True) if float(p) == best))
    return leaders


def sensitivity_table(kb: KnowledgeBase, network: DiscreteNetwork, cases: Sequence[Case],
                      cpd_entries: int = SENSITIVITY_CPD_ENTRIES) -> list[dict[str, Any]]:
    """Which single prior or CPD entry, odds halved or doubled, changes which cases' leading cause.

    Exact, and without recompiling a tree per perturbation:

    * a cause prior with its odds times f is the same posterior as soft evidence ``[1, f]`` on the
      cause (a root), so every prior variant is a batch row;
    * a question ``X`` is a leaf, so scaling ``P(X = x* | U = u*)`` (row renormalised) multiplies a
      case's likelihood by ``g = (f if X was answered x* else 1) / (1 + (f - 1) P(x* | u*))`` when
      ``U = u*`` and by 1 otherwise. Hence ``P'(c | e) ∝ P(c, e) + (g - 1) P(c, e, U = u*)``: one
      extra row per case with the parents clamped to ``u*`` serves both factors.
    """
    if not cases:
        return []
    causes = list(kb.causes)
    tree = JunctionTree.compile(network)
    answers = answer_likelihoods(network, cases)
    batch = len(cases)
    base = tree.propagate(answers, batch, targets=causes)
    base_p = np.stack([1.0 - base.marginal(c)[:, 0] for c in causes], axis=1)
    base_leaders = _leaders(base_p, causes)
    entries = influential_entries(network, cases, list(kb.questions), cpd_entries)
    variants: list[dict[str, FloatArray]] = []
    for cause in causes:  # prior variants: soft evidence [1, f] on the cause
        for factor in SENSITIVITY_FACTORS:
            soft = np.ones((batch, network.cardinality(cause)))
            soft[:, 1:] = factor
            variants.append({cause: soft})
    for question, index, _, _ in entries:  # clamp the entry's parent configuration
        clamp = {}
        for parent, state in zip(network.variables[question].parents, index, strict=True):
            vector = np.zeros((batch, network.cardinality(parent)))
            vector[:, state] = 1.0
            clamp[parent] = vector
        variants.append(clamp)
    likelihoods: dict[str, FloatArray] = {}
    names = set(answers) | {n for v in variants for n in v}
    for name in names:
        column = answers.get(name, np.ones((batch, network.cardinality(name))))
        stacked = np.tile(column, (len(variants), 1))
        for j, variant in enumerate(variants):
            if name in variant:
                stacked[j * batch : (j + 1) * batch] *= variant[name]
        likelihoods[name] = stacked
    result = tree.propagate(likelihoods, batch * len(variants), targets=causes)
    present = np.stack([1.0 - result.marginal(c)[:, 0] for c in causes], axis=1).reshape(len(variants), batch, -1)
    rows: list[dict[str, Any]] = []

    def report(kind: str, node: str, index: tuple[int, ...], state: int, factor: float, leaders: list[str]) -> None:
        changed = [{"case": case.id, "from": before, "to": after}
                   for case, before, after in zip(cases, base_leaders, leaders, strict=True) if before != after]
        if changed:
            variable = network.variables[node]
            when = {p: network.variables[p].states[k] for p, k in zip(variable.parents, index, strict=True)}
            rows.append({"kind": kind, "node": node, "when": when, "state": variable.states[state],
                         "value": round(float(variable.cpt[index][state]), 6), "factor": factor,
                         "n_changed": len(changed), "changed": changed})

    j = 0
    for cause in causes:
        for factor in SENSITIVITY_FACTORS:
            report("prior", cause, (), 1, factor, _leaders(present[j], causes))
            j += 1
    with np.errstate(under="ignore", over="ignore"):
        for k, (question, index, state, _) in enumerate(entries):
            clamped = j + k
            theta = float(network.variables[question].cpt[index][state])
            rows_of_question = answers[question]
            answered = ~np.all(rows_of_question == 1.0, axis=1)  # unanswered rows are all ones
            # P(e, U=u*) / P(e) per case, from the clamped rows' log evidence
            ratio = np.exp(result.log_evidence[clamped * batch : (clamped + 1) * batch] - base.log_evidence)
            for factor in SENSITIVITY_FACTORS:
                hit = np.where(rows_of_question[:, state] > 0, factor, 1.0) / (1.0 + (factor - 1.0) * theta)
                g = np.where(answered, hit, 1.0)
                weight = ((g - 1.0) * ratio)[:, None]
                mixed = (base_p + weight * present[clamped]) / (1.0 + weight)
                report("cpd", question, index, state, factor, _leaders(mixed, causes))
    rows.sort(key=lambda r: (-r["n_changed"], r["node"], r["factor"]))
    return rows


# ------------------------------------------------------------------------------------------- outputs


def calibration_figure(
    bins: Sequence[dict[str, Any]], title: str, *, reference_colour: str = "grey", line_colour: str | None = None
) -> Figure:
    """A reliability diagram: predicted probability against observed frequency, with bin counts.

    The one drawing of it: the PNG report and the UI's Quality page both use it.
    """
    import matplotlib.pyplot as plt

    used = [b for b in bins if b.get("n")]
    figure, axis = plt.subplots(figsize=(4.6, 4.6), dpi=100)
    axis.plot([0, 1], [0, 1], linestyle="--", color=reference_colour, label="perfect calibration")
    axis.plot([b["mean_predicted"] for b in used], [b["observed"] for b in used], marker="o", color=line_colour,
              label="cross-validated")
    for b in used:
        axis.annotate(str(b["n"]), (b["mean_predicted"], b["observed"]), textcoords="offset points",
                      xytext=(4, -10), fontsize=7)
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_xlabel("predicted P(cause present)")
    axis.set_ylabel("observed frequency")
    axis.set_title(title, fontsize=10)
    axis.legend(loc="upper left", fontsize=8, frameon=False)
    figure.tight_layout()
    return figure


def calibration_plot(evaluation: Evaluation, path: Path) -> Path:
    """The reliability diagram as PNG, with the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = calibration_figure(
        evaluation.calibration, f"{evaluation.pack}: {evaluation.n_cases} cases, {evaluation.folds}-fold CV"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    plt.close(figure)
    return path


def _shown(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _coverage_text(coverage: dict[str, Any]) -> str:
    if not coverage.get("cases"):
        return "–"
    return f"{coverage['covered']}/{coverage['cases']} ({coverage['share']:.0%})"


SHIPPED_COLUMN = "frozen split, pack as shipped"
"""The comparison column of the model ``rank`` runs on (expert CPDs, plus ``learned.yaml`` if current)."""


def comparison_rows(data: dict[str, Any]) -> list[dict[str, str]]:
    """Cross-validation beside the frozen test split (learned, and as shipped), metric by metric."""
    test = data["test_split"]
    shipped = test["shipped"]
    cv = {"n_cases": data["n_cases"], "top1": data["top1"], "top3": data["top3"], "brier": data["brier"],
          "log_loss": data["log_loss"]}
    rows = [{"metric": "cases scored", "cross-validation": str(cv["n_cases"]),
             "frozen test split": str(test["n_cases"]), SHIPPED_COLUMN: str(shipped["n_cases"])}]
    for key, name, digits in (("top1", "top-1 accuracy", 3), ("top3", "top-3 accuracy", 3),
                              ("brier", "Brier score", 4), ("log_loss", "log loss", 4)):
        rows.append({"metric": name, "cross-validation": _shown(cv[key], digits),
                     "frozen test split": _shown(test[key], digits), SHIPPED_COLUMN: _shown(shipped[key], digits)})
    rows.append({"metric": "coverage (confirmed cause has a node)",
                 "cross-validation": _coverage_text(data["coverage"]),
                 "frozen test split": _coverage_text(test["coverage"]),
                 SHIPPED_COLUMN: _coverage_text(test["coverage"])})
    return rows


def family_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Per family, cross-validation beside the frozen split: n, top-1 and top-3 of each."""
    cv = {r["family"]: r for r in data["per_family"]}
    test = {r["family"]: r for r in data["test_split"]["per_family"]}
    families = sorted(set(cv) | set(test), key=lambda f: (-(cv.get(f, {}).get("n_cases", 0)
                                                            + test.get(f, {}).get("n_cases", 0)), f))
    rows = []
    for family in families:
        a, b = cv.get(family, {}), test.get(family, {})
        rows.append({"family": family,
                     "cv cases": a.get("n_cases", 0), "cv top-1": _shown(a.get("top1"), 2),
                     "cv top-3": _shown(a.get("top3"), 2),
                     "test cases": b.get("n_cases", 0), "test top-1": _shown(b.get("top1"), 2),
                     "test top-3": _shown(b.get("top3"), 2)})
    return rows


def markdown_report(evaluation: Evaluation) -> str:
    data = evaluation.as_dict()
    test = data["test_split"]
    lines = [
        f"# Evaluation of `{data['pack']}` ({data['kb_hash']}), {data['date']}",
        "",
        f"Frozen test split ({test['rule']}): {test['coverage']['cases']} cases, scored once by the model learned "
        f"from the other {test['learned_from']}; nothing learns from them and they are reported only in total. "
        f"Cross-validation: {data['folds']} folds over those {test['learned_from']} cases, from the expert CPDs "
        f"(Dirichlet prior, ESS {data['ess']:g} per row). The last column scores the frozen split with the "
        f"model `rank` runs on: the expert CPDs{' with learned.yaml over them' if test['shipped']['learned'] else ''}.",
        "",
        f"| metric | cross-validation | frozen test split | {SHIPPED_COLUMN} |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['metric']} | {r['cross-validation']} | {r['frozen test split']} | {r[SHIPPED_COLUMN]} |"
              for r in comparison_rows(data)]
    lines += ["", "## Per family (category of the confirmed cause)", "",
              "| family | cv cases | cv top-1 | cv top-3 | test cases | test top-1 | test top-3 |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['family']} | {r['cv cases']} | {r['cv top-1']} | {r['cv top-3']} | {r['test cases']} | "
              f"{r['test top-1']} | {r['test top-3']} |" for r in family_rows(data)]
    lines += [
        "",
        "## Calibration (cross-validation)",
        "",
        "| predicted | n | mean predicted | observed |",
        "|---|---|---|---|",
    ]
    for b in data["calibration"]:
        mean = "" if b["mean_predicted"] is None else f"{b['mean_predicted']:.3f}"
        observed = "" if b["observed"] is None else f"{b['observed']:.3f}"
        lines.append(f"| {b['bin'][0]:.1f}–{b['bin'][1]:.1f} | {b['n']} | {mean} | {observed} |")
    lines += ["", "## Most frequent confusions", "", "| predicted | actually | count | cases |", "|---|---|---|---|"]
    lines += [f"| {c['predicted']} | {c['actual']} | {c['count']} | {', '.join(c['cases'])} |"
              for c in data["confusions"]] or ["| (none) | | | |"]
    lines += ["", "## Sensitivity (expert model): one number ×0.5 or ×2 in odds", "",
              "| parameter | when | value | factor | cases whose leader changes |", "|---|---|---|---|---|"]
    for s in data["sensitivity"]:
        name = f"prior of {s['node']}" if s["kind"] == "prior" else f"P({s['node']}={s['state']})"
        when = ", ".join(f"{k}={v}" for k, v in s["when"].items())
        changed = ", ".join(f"{c['case']} ({c['from']}→{c['to']})" for c in s["changed"][:5])
        more = f" and {s['n_changed'] - 5} more" if s["n_changed"] > 5 else ""
        lines.append(f"| {name} | {when} | {s['value']:.3g} | ×{s['factor']:g} | {changed}{more} |")
    if not data["sensitivity"]:
        lines.append("| (no single change moves any leader) | | | | |")
    lines += ["", "## Cases (cross-validation; the frozen split is not listed)", "",
              "| case | fold | confirmed | rank | top 3 |", "|---|---|---|---|---|"]
    for c in data["cases"]:
        top = ", ".join(f"{t['cause']} {t['probability']:.2f}" for t in c["top3"])
        lines.append(f"| {c['id']} | {c['fold']} | {', '.join(c['confirmed'])} | {c['rank']} | {top} |")
    if data["plot"]:
        lines += ["", f"![calibration]({Path(data['plot']).name})"]
    return "\n".join(lines) + "\n"
