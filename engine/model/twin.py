"""Twin (before/after) networks: what happens to the complaint if a fix is applied.

"Did the fix work?" is a counterfactual: the causes the fix does not touch, and every bit of noise
(leaks, the chance that a present cause actually produces its effect), must keep the state that
explains what the user saw, or a fix that removes nothing would earn credit from re-drawn noise.
So every mechanism on the way from a fixable cause to the complaint is rewritten as a deterministic
function of its parents and explicit noise roots (the structural form of its CPD), and each
after-world copies that function over the after-world parents with the *same* noise roots.

- noisy-OR: one noise root per link (on with the link's weight) plus a leak root, OR-ed in a chain;
- noisy-AND: one conjunct per parent ((parent on and link noise) or (parent off and leak noise));
- all-of: AND over the parents, then strength / leak roots;
- table: inverse-CDF coupling with one shared uniform noise variable discretised at every
  cumulative breakpoint of the table, which is exact for any table.

Symptom questions (the failures the user reported) get after-world copies too: a fix resolves the
problem when the reported symptoms are gone, even if some unrelated, unreported fault that the
complaint node also counts may still be present.

The structural forms reproduce the original CPDs exactly, so the before-world of the twin is the
same distribution as the plain network (tested). After-worlds chain: slot 1 is the world after the
first step of fixes, slot 2 after the second, and the last can hold a candidate fix; a step is one
or more fixes whose removals compose (``engine.reason.attempts`` folds attempts into few steps).
Only what a slot's fixes reach on the way to the watched outcomes is copied, which keeps the
twin's cliques close to the plain network's: copying every fixable cause toward every symptom at
once doubles the treewidth (2^28-entry cliques on the mail pack).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.kb.knowledge import KnowledgeBase
from engine.kb.schema import AllOfCpd, NoisyAndCpd, NoisyOrCpd, TableCpd
from engine.model.builder import SWITCH, NetworkBuilder, switch_root
from engine.model.network import DiscreteNetwork, Variable

REMISSION_IF_INTERMITTENT = 0.5
"""An intermittent problem is as likely as not to be quiet when someone checks after a fix."""
REMISSION_IF_STEADY = 0.03
"""A steady problem rarely stops by coincidence in the minutes after a fix."""
REMISSION_WITHOUT_QUESTION = 0.1
MAX_TABLE_ENTRIES = 2_000_000


class TwinError(ValueError):
    """The pack cannot be turned into a twin network (e.g. a table too large to couple)."""


@dataclass(frozen=True)
class TwinLayout:
    """Names of the twin network's outcome variables, one per after-world (fix applied)."""

    steps: tuple[tuple[str, ...], ...]
    """Per slot, the fixes applied since the previous slot, in order."""
    complaint: str
    after_complaint: tuple[str, ...]
    seen_complaint: tuple[str | None, ...]
    after_symptoms: tuple[dict[str, str], ...]
    """Per slot, the after-world name of each symptom question (itself where the fix cannot reach it)."""
    seen_symptoms: tuple[dict[str, str], ...]
    """Per tried slot, each symptom as seen after that fix (empty for a candidate's slot)."""


def _structural(
    builder: NetworkBuilder, kb: KnowledgeBase, node_id: str, original: Variable, parent_of: dict[str, str],
    tag: str, volatile: set[str],
) -> str:
    """Emit ``node_id`` as a function of (mapped) parents and shared noise; returns its name."""
    node = kb.node(node_id)
    cpd = getattr(node, "cpd", None)
    final = f"{node_id}{tag}"
    states = original.states
    mapped = {p: parent_of.get(p, p) for p in original.parents}
    # parents no after-world ever changes go first, so copies share the front of every chain
    parents = sorted(getattr(cpd, "parents", ()), key=lambda p: p in volatile)
    shared = sum(1 for p in parents if mapped[p] == p and p not in volatile)

    def suffix(parent: str) -> str:
        return "" if mapped[parent] == parent else tag

    if isinstance(cpd, NoisyOrCpd):
        links = []
        for parent in parents:
            noise = builder.add(switch_root(f"{node_id}~u:{parent}", cpd.parents[parent]))
            links.append(builder.switch(f"{node_id}~z:{parent}{suffix(parent)}", [mapped[parent], noise], all))
        leak = builder.add(switch_root(f"{node_id}~leak", cpd.leak))
        result = builder.chain(f"{node_id}~or", [leak, *links], lambda a, b: a or b, tag, shared + 1)
        return builder.relabel(final, states, result)
    if isinstance(cpd, NoisyAndCpd):
        conjuncts = []
        for parent in parents:
            works = builder.add(switch_root(f"{node_id}~u:{parent}", cpd.parents[parent]))
            stands_in = builder.add(switch_root(f"{node_id}~v:{parent}", cpd.leak))
            conjuncts.append(builder.switch(
                f"{node_id}~k:{parent}{suffix(parent)}", [mapped[parent], works, stands_in],
                lambda on: (on[0] and on[1]) or (not on[0] and on[2]),
            ))
        result = builder.chain(f"{node_id}~and", conjuncts, lambda a, b: a and b, tag, shared)
        return builder.relabel(final, states, result)
    if isinstance(cpd, AllOfCpd):
        inputs = [mapped[p] for p in parents]
        together = builder.chain(f"{node_id}~all", inputs, lambda a, b: a and b, tag, shared)
        strength = builder.add(switch_root(f"{node_id}~strength", cpd.strength))
        leak = builder.add(switch_root(f"{node_id}~leak", cpd.leak))
        result = builder.switch(
            f"{node_id}~out{tag}", [together, strength, leak], lambda on: (on[0] and on[1]) or (not on[0] and on[2])
        )
        return builder.relabel(final, states, result)
    if isinstance(cpd, TableCpd):
        return _inverse_cdf(builder, node_id, original, mapped, final)
    raise TwinError(f"{node_id}: unsupported CPD {type(cpd).__name__}")


def _inverse_cdf(builder: NetworkBuilder, node_id: str, original: Variable, mapped: dict[str, str], final: str) -> str:
    """Couple before and after through one uniform draw: state k iff U falls in row's k-th interval."""
    cumulative = np.cumsum(original.cpt, axis=-1)
    breakpoints = np.unique(np.concatenate([[0.0, 1.0], np.clip(cumulative, 0.0, 1.0).ravel()]))
    lengths = np.diff(breakpoints)
    keep = lengths > 0
    midpoints = (breakpoints[:-1] + breakpoints[1:])[keep] / 2.0
    probabilities = lengths[keep] / lengths[keep].sum()
    entries = original.cpt.size * len(midpoints)
    if entries > MAX_TABLE_ENTRIES:
        raise TwinError(f"{node_id}: coupling its table needs {entries} entries; split the table")
    noise_name = f"{node_id}~u"
    if noise_name not in builder.network.variables:
        builder.add(Variable(noise_name, tuple(f"u{i}" for i in range(len(midpoints))), (), probabilities))
    parents = [mapped[p] for p in original.parents]

    def rule(combo: tuple[int, ...]) -> int:
        row = cumulative[combo[:-1]]
        return int(min(np.searchsorted(row, midpoints[combo[-1]], side="right"), len(row) - 1))

    return builder.deterministic(final, original.states, [*parents, noise_name], rule)


def ancestry(network: DiscreteNetwork, targets: Sequence[str]) -> set[str]:
    """The targets and everything they depend on."""
    seen: set[str] = set()
    stack = list(targets)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(network.variables[name].parents)
    return seen


def transition(kb: KnowledgeBase, cause: str, step: Sequence[str]) -> np.ndarray:
    """P(cause after the step's fixes | before), rows absent/present: the fixes' matrices composed in order.

    Each fix removes a present cause with its effectiveness and may add an absent one; the draws
    of different fixes are independent, so the step's matrix is the product of theirs.
    """
    matrix = np.eye(2)
    for fix_id in step:
        fix = kb.fixes[fix_id]
        removed, added = fix.removes.get(cause, 0.0), fix.adds.get(cause, 0.0)
        matrix = matrix @ np.array([[1.0 - added, added], [removed, 1.0 - removed]])
    return matrix


def build_twin(
    kb: KnowledgeBase, network: DiscreteNetwork, steps: Sequence[Sequence[str]], observed: int = 0,
    outcomes: Sequence[str] | None = None,
) -> tuple[DiscreteNetwork, TwinLayout]:
    """The before-world plus one chained after-world per step of fixes (see the module docstring).

    The first ``observed`` slots are fixes already tried: they get "as seen afterwards" nodes (the
    complaint and each symptom, hidden when the problem happens to be quiet) for their outcome.
    ``outcomes`` limits the after-worlds to what a question needs: the symptoms whose fate is asked
    (the ones reported) or the complaint alone; only their ancestors are copied, which keeps the
    twin of a fix that touches many causes small. By default every symptom and the complaint.
    """
    complaint = kb.pack.complaint
    if complaint is None:
        raise TwinError(f"pack {kb.id} names no complaint node; fix assessment needs one")
    symptoms = [q for q, question in kb.questions.items() if question.symptom]
    if outcomes is not None:
        symptoms = [q for q in symptoms if q in outcomes]
    relevant = ancestry(network, [*([complaint] if outcomes is None or complaint in outcomes else []), *symptoms])
    touched_per_slot = [
        [c for c in kb.causes if c in relevant and any(c in kb.fixes[f].removes or c in kb.fixes[f].adds
                                                         for f in step)]
        for step in steps
    ]
    for cause in {c for touched in touched_per_slot for c in touched}:
        if network.variables[cause].states != ("absent", "present"):
            raise TwinError(f"{cause}: fixes can only act on binary causes")
    dirty_per_slot = []
    for touched in touched_per_slot:
        reached, dirty = set(touched), []
        for name, variable in network.variables.items():
            if name in relevant and name not in kb.causes and reached.intersection(variable.parents):
                dirty.append(name)
                reached.add(name)
        dirty_per_slot.append(dirty)
    structural = {name for dirty in dirty_per_slot for name in dirty}
    volatile = structural | {c for touched in touched_per_slot for c in touched}

    builder = NetworkBuilder()
    for name, variable in network.variables.items():
        if name in structural:
            _structural(builder, kb, name, variable, {}, "", volatile)
        else:
            builder.add(variable)

    current = {name: name for name in network.variables}
    after_complaint, after_symptoms = [], []
    seen_complaint: list[str | None] = []
    seen_symptoms: list[dict[str, str]] = []
    complaint_states = network.variables[complaint].states
    for slot, (step, touched, dirty) in enumerate(zip(steps, touched_per_slot, dirty_per_slot, strict=True), 1):
        tag = f"@{slot}"
        for cause in touched:
            cpt = transition(kb, cause, step)
            variable = Variable(f"{cause}{tag}", ("absent", "present"), (current[cause],), cpt)
            current[cause] = builder.add(variable)
        for name in dirty:
            current[name] = _structural(builder, kb, name, network.variables[name], current, tag, volatile)
        after_complaint.append(current[complaint])
        after_symptoms.append({q: current[q] for q in symptoms})
        if slot > observed:
            seen_complaint.append(None)
            seen_symptoms.append({})
            continue
        remission = _remission(builder, kb, network, f"{complaint}~remission{tag}")
        seen_complaint.append(_seen(builder, f"{complaint}~seen{tag}", complaint_states, "present",
                                    current[complaint], remission))
        seen_symptoms.append({
            q: _seen(builder, f"{q}~seen{tag}", network.variables[q].states, network.variables[q].states[0],
                     current[q], remission)
            for q in symptoms
        })
    layout = TwinLayout(
        steps=tuple(tuple(step) for step in steps), complaint=complaint,
        after_complaint=tuple(after_complaint), seen_complaint=tuple(seen_complaint),
        after_symptoms=tuple(after_symptoms), seen_symptoms=tuple(seen_symptoms),
    )
    return builder.network, layout


def _seen(builder: NetworkBuilder, name: str, states: tuple[str, ...], failing: str, source: str,
          remission: str) -> str:
    """The failure as someone sees it after a fix: there, unless the problem is quiet just then."""
    bad = states.index(failing)
    return builder.deterministic(
        name, states, [source, remission], lambda combo: bad if combo[0] == bad and combo[1] == 0 else 1 - bad
    )


def _remission(builder: NetworkBuilder, kb: KnowledgeBase, network: DiscreteNetwork, name: str) -> str:
    """Whether the problem is quiet when checked after a fix, for reasons of its own."""
    intermittency = kb.pack.intermittency
    if intermittency is None:
        return builder.add(switch_root(name, REMISSION_WITHOUT_QUESTION))
    answers = network.variables[intermittency].states
    rates = np.array([REMISSION_IF_INTERMITTENT if a == "yes" else REMISSION_IF_STEADY for a in answers])
    return builder.add(Variable(name, SWITCH, (intermittency,), np.stack([1 - rates, rates], axis=-1)))
