"""Cross-file validation of a pack: references, the graph, CPD arithmetic and identifiability.

Every check reports all its findings instead of stopping at the first, because an author fixing a
pack wants the whole list in one run.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.errors import KbError
from engine.kb.knowledge import KnowledgeBase, on_state
from engine.kb.loader import RawPack, content_hash, read_pack, resolve_pack_dir
from engine.kb.schema import (
    AllOfCpd,
    Cause,
    Cpd,
    Mechanism,
    NoisyAndCpd,
    NoisyOrCpd,
    Question,
    TableCpd,
)

SUM_TOLERANCE = 1e-6
GRAPH_FILES = {"causes": "causes.yaml", "mechanisms": "mechanisms.yaml", "questions": "questions.yaml"}


def _graph_nodes(raw: RawPack) -> Iterator[tuple[str, int, Cause | Mechanism | Question]]:
    """(list key, index, node) for every node of the network, in file order."""
    if raw.causes:
        for i, cause in enumerate(raw.causes.causes):
            yield "causes", i, cause
    for i, mechanism in enumerate(raw.mechanisms.mechanisms):
        yield "mechanisms", i, mechanism
    if raw.questions:
        for i, question in enumerate(raw.questions.questions):
            yield "questions", i, question


def _node_states(node: Cause | Mechanism | Question) -> list[str]:
    return list(node.answers) if isinstance(node, Question) else list(node.states)


def check_unique_ids(raw: RawPack) -> dict[str, tuple[str, int, Cause | Mechanism | Question]]:
    seen: dict[str, tuple[str, int, Cause | Mechanism | Question]] = {}
    for key, i, node in _graph_nodes(raw):
        if node.id in seen:
            first_key, first_i, _ = seen[node.id]
            first_line = raw.line(GRAPH_FILES[first_key], [first_key, first_i, "id"])
            raw.error(GRAPH_FILES[key], [key, i, "id"], f"duplicate id '{node.id}'",
                      f"ids must be unique across causes, mechanisms and questions; first defined in "
                      f"{GRAPH_FILES[first_key]}:{first_line}")
            continue
        seen[node.id] = (key, i, node)
    for file, key, items in (
        ("fixes.yaml", "fixes", raw.fixes.fixes),
        ("signatures.yaml", "signatures", raw.signatures.signatures),
    ):
        ids: set[str] = set()
        for i, item in enumerate(items):
            if item.id in ids:
                raw.error(file, [key, i, "id"], f"duplicate id '{item.id}'", f"give each entry of {file} its own id")
            ids.add(item.id)
    return seen


def _check_open_interval(raw: RawPack, file: str, path: list[str | int], value: float, what: str) -> None:
    if not 0.0 < value < 1.0:
        raw.error(file, path, f"{what} is {value}; noisy parameters must lie strictly inside (0, 1)",
                  "use a value such as 0.01 or 0.99 (observations are never certain), or set "
                  "'deterministic: true' if this is a definition")


def _check_distribution(raw: RawPack, file: str, path: list[str | int], dist: dict[str, float],
                        states: list[str]) -> None:
    unknown = [s for s in dist if s not in states]
    if unknown:
        raw.error(file, path, f"unknown state(s) {unknown}", f"valid states: {', '.join(states)}")
    total = sum(dist.values())
    if abs(total - 1.0) > SUM_TOLERANCE:
        raw.error(file, path, f"probabilities sum to {total:.6g}, not 1",
                  "adjust the entries of this row so that they add up to exactly 1")


def check_cpd(raw: RawPack, nodes: dict[str, tuple[str, int, Cause | Mechanism | Question]],
              key: str, index: int, node: Mechanism | Question) -> None:
    file = GRAPH_FILES[key]
    base: list[str | int] = [key, index, "cpd"]
    cpd: Cpd = node.cpd
    states = _node_states(node)
    parents = list(cpd.parents)
    for parent in parents:
        where = [*base, "parents", parent] if isinstance(cpd.parents, dict) else [*base, "parents"]
        if parent not in nodes:
            valid = [n for n, (k, _, _) in nodes.items() if k != "questions"]
            raw.error(file, where, f"parent '{parent}' does not exist",
                      f"use a cause or mechanism id, e.g. {', '.join(sorted(valid)[:8])}")
        elif nodes[parent][0] == "questions":
            raw.error(file, where, f"parent '{parent}' is a question",
                      "questions are observations; make both depend on a shared mechanism instead")
        elif parent == node.id:
            raw.error(file, where, "a node cannot be its own parent", "remove it from its parents")
    if isinstance(node, Question) and node.symptom and len(states) != 2:
        raise_at: list[str | int] = [key, index, "symptom"]
        raw.error(file, raise_at, "a symptom question needs exactly two answers, the failure first",
                  "use answers like [yes, no], or drop 'symptom: true'")
    if len(set(parents)) != len(parents):
        raw.error(file, [*base, "parents"], "a parent is listed twice", "list each parent once")
    if isinstance(cpd, NoisyOrCpd | NoisyAndCpd | AllOfCpd):
        if on_state(states) is None:
            raw.error(file, [*base, "type"], f"{cpd.type} needs a binary node with state 'present' or 'yes'",
                      f"use a 'table' cpd for states {states}")
        for parent in parents:
            if parent in nodes and on_state(_node_states(nodes[parent][2])) is None:
                raw.error(file, [*base, "parents"], f"{cpd.type} parent '{parent}' is not binary",
                          "use a 'table' cpd when a parent has more than two states")
        if not cpd.deterministic:
            _check_open_interval(raw, file, [*base, "leak"], cpd.leak, "leak")
            if isinstance(cpd, AllOfCpd):
                _check_open_interval(raw, file, [*base, "strength"], cpd.strength, "strength")
            else:
                for parent, weight in cpd.parents.items():
                    _check_open_interval(raw, file, [*base, "parents", parent], weight, f"weight of '{parent}'")
        return
    assert isinstance(cpd, TableCpd)
    parent_states = {p: _node_states(nodes[p][2]) for p in parents if p in nodes}
    for r, row in enumerate(cpd.rows):
        for parent, state in row.when.items():
            if parent not in parents:
                raw.error(file, [*base, "rows", r, "when", parent], f"'{parent}' is not a parent of this cpd",
                          f"parents: {', '.join(parents)}")
            elif parent in parent_states and state not in parent_states[parent]:
                raw.error(file, [*base, "rows", r, "when", parent], f"'{state}' is not a state of '{parent}'",
                          f"valid states: {', '.join(parent_states[parent])}")
        _check_distribution(raw, file, [*base, "rows", r, "p"], row.p, states)
    if cpd.default is not None:
        _check_distribution(raw, file, [*base, "default"], cpd.default, states)
    elif len(parent_states) == len(parents):
        covered = _covered_configurations(cpd, parents, parent_states)
        total = 1
        for p in parents:
            total *= len(parent_states[p])
        if covered < total:
            raw.error(file, [*base, "rows"], f"rows cover {covered} of {total} parent state combinations",
                      "add the missing rows or a 'default' row")


def _covered_configurations(cpd: TableCpd, parents: list[str], parent_states: dict[str, list[str]]) -> int:
    covered = 0
    for combo in itertools.product(*(parent_states[p] for p in parents)):
        config = dict(zip(parents, combo, strict=True))
        if any(all(config.get(p) == s for p, s in row.when.items()) for row in cpd.rows):
            covered += 1
    return covered


def check_causes(raw: RawPack) -> None:
    if not raw.causes:
        return
    for i, cause in enumerate(raw.causes.causes):
        if cause.prior is not None:
            _check_open_interval(raw, "causes.yaml", ["causes", i, "prior"], cause.prior, "prior")
        if cause.distribution is not None:
            _check_distribution(raw, "causes.yaml", ["causes", i, "distribution"], cause.distribution,
                                list(cause.states))


def check_refines(raw: RawPack) -> None:
    """``refines`` names one other cause, and following it never comes back to where it started."""
    if not raw.causes:
        return
    causes = raw.causes.causes
    index = {cause.id: i for i, cause in enumerate(causes)}
    for i, cause in enumerate(causes):
        target = cause.refines
        if target is None:
            continue
        if target == cause.id:
            raw.error("causes.yaml", ["causes", i, "refines"], f"cause '{cause.id}' refines itself",
                      "name the broader cause this one is a part of, or remove 'refines'")
        elif target not in index:
            raw.error("causes.yaml", ["causes", i, "refines"], f"'refines' names unknown cause '{target}'",
                      f"valid causes: {', '.join(sorted(c for c in index if c != cause.id))}")
    for i, cause in enumerate(causes):
        chain = [cause.id]
        current = cause.refines
        while current is not None and current in index and current not in chain:
            chain.append(current)
            current = causes[index[current]].refines
        # report a cycle once, at its first member in file order; a self-reference is reported above
        if current == cause.id and len(chain) > 1 and min(index[c] for c in chain) == i:
            path = " → ".join([*chain, cause.id])
            raw.error("causes.yaml", ["causes", i, "refines"], f"'refines' forms a cycle: {path}",
                      "a refinement points at a broader cause; remove 'refines' from one cause of the cycle")


def check_identifiability_notes(raw: RawPack) -> None:
    """Each note names two different, existing causes, and each pair is explained only once."""
    if raw.pack is None or not raw.causes:
        return
    causes = {cause.id for cause in raw.causes.causes}
    seen: set[frozenset[str]] = set()
    for n, note in enumerate(raw.pack.identifiability_notes):
        where: list[str | int] = ["identifiability_notes", n, "causes"]
        unknown = [c for c in note.causes if c not in causes]
        if unknown:
            raw.error("pack.yaml", where, f"unknown cause(s) {unknown}", "name two cause ids of causes.yaml")
        elif note.causes[0] == note.causes[1]:
            raw.error("pack.yaml", where, "a note must name two different causes", "name the look-alike pair")
        elif frozenset(note.causes) in seen:
            raw.error("pack.yaml", where, f"the pair {note.causes} is explained twice", "keep one note per pair")
        seen.add(frozenset(note.causes))


def check_graph(raw: RawPack, nodes: dict[str, tuple[str, int, Cause | Mechanism | Question]]) -> bool:
    """Acyclicity and reachability; returns whether the graph is sound enough to compile."""
    import networkx as nx

    graph: Any = nx.DiGraph()
    graph.add_nodes_from(nodes)
    for node_id, (_, _, node) in nodes.items():
        if not isinstance(node, Cause):
            graph.add_edges_from((p, node_id) for p in node.cpd.parents if p in nodes)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        path = " → ".join([edge[0] for edge in cycle] + [cycle[0][0]])
        key, i, _ = nodes[cycle[0][1]]
        raw.error(GRAPH_FILES[key], [key, i, "cpd", "parents"], f"the graph has a cycle: {path}",
                  "a node may not depend on itself through other nodes; remove one edge of the cycle")
        return False
    questions = {n for n, (k, _, _) in nodes.items() if k == "questions"}
    for node_id, (key, i, _) in nodes.items():
        if key == "causes" and not (nx.descendants(graph, node_id) & questions):
            raw.error("causes.yaml", [key, i, "id"], f"cause '{node_id}' reaches no question",
                      "add a question (or a mechanism with a question) that observes it, or remove the cause")
        if key == "questions" and not any(nodes[a][0] == "causes" for a in nx.ancestors(graph, node_id)):
            raw.error("questions.yaml", [key, i, "cpd"], f"question '{node_id}' has no cause among its ancestors",
                      "connect it to a cause or a mechanism that depends on causes")
    return True


def check_reply_codes(raw: RawPack, nodes: dict[str, tuple[str, int, Cause | Mechanism | Question]]) -> None:
    """Reply-code entries: unique ids, one reading per (code, phrase), answers of real questions."""
    ids: set[str] = set()
    readings: set[tuple[str, str]] = set()
    for i, code in enumerate(raw.reply_codes.codes):
        if code.id in ids:
            raw.error("reply_codes.yaml", ["codes", i, "id"], f"duplicate id '{code.id}'", "give each entry its own id")
        ids.add(code.id)
        reading = (code.code, (code.text or "").lower())
        if reading in readings:
            raw.error("reply_codes.yaml", ["codes", i, "code"], f"'{code.code}' is read twice with the same text",
                      "merge the two entries, or give one a 'text' phrase that tells them apart")
        readings.add(reading)
        for j, answer in enumerate(code.answers):
            target = nodes.get(answer.question)
            if target is None or target[0] != "questions":
                raw.error("reply_codes.yaml", ["codes", i, "answers", j, "question"],
                          f"unknown question '{answer.question}'", "name a question of questions.yaml")
            elif answer.answer not in _node_states(target[2]):
                raw.error("reply_codes.yaml", ["codes", i, "answers", j, "answer"],
                          f"'{answer.answer}' is not an answer of '{answer.question}'",
                          f"valid answers: {', '.join(_node_states(target[2]))}")


def check_references(raw: RawPack, nodes: dict[str, tuple[str, int, Cause | Mechanism | Question]]) -> None:
    causes = {n for n, (k, _, _) in nodes.items() if k == "causes"}
    for i, fix in enumerate(raw.fixes.fixes):
        for field_name, targets in (("removes", fix.removes), ("adds", fix.adds)):
            for cause_id in targets:
                if cause_id not in causes:
                    raw.error("fixes.yaml", ["fixes", i, field_name, cause_id], f"unknown cause '{cause_id}'",
                              f"valid causes: {', '.join(sorted(causes))}")
        if not fix.removes:
            raw.error("fixes.yaml", ["fixes", i, "removes"], "a fix must remove at least one cause",
                      "list the causes it removes with their effectiveness")
    for i, sig in enumerate(raw.signatures.signatures):
        target = nodes.get(sig.question)
        if target is None or target[0] != "questions":
            questions = sorted(n for n, (k, _, _) in nodes.items() if k == "questions")
            raw.error("signatures.yaml", ["signatures", i, "question"], f"unknown question '{sig.question}'",
                      f"valid questions: {', '.join(questions)}")
        elif sig.answer not in _node_states(target[2]):
            raw.error("signatures.yaml", ["signatures", i, "answer"], f"'{sig.answer}' is not an answer of "
                      f"'{sig.question}'", f"valid answers: {', '.join(_node_states(target[2]))}")
        try:
            re.compile(sig.pattern)
        except re.error as exc:
            raw.error("signatures.yaml", ["signatures", i, "pattern"], f"invalid regular expression: {exc}",
                      "fix the pattern (Python 're' syntax)")
    check_reply_codes(raw, nodes)
    if raw.pack is not None:
        complaint = raw.pack.complaint
        if complaint is not None and (complaint not in nodes or nodes[complaint][0] != "mechanisms"):
            raw.error("pack.yaml", ["complaint"], f"complaint '{raw.pack.complaint}' is not a mechanism",
                      "name the mechanism that means 'the user's problem is present'")
        intermittency = raw.pack.intermittency
        if intermittency is not None and (intermittency not in nodes or nodes[intermittency][0] != "questions"):
            raw.error("pack.yaml", ["intermittency"], f"intermittency '{intermittency}' is not a question",
                      "name the question that asks whether the problem comes and goes")


def check_intake(raw: RawPack, nodes: dict[str, tuple[str, int, Cause | Mechanism | Question]]) -> None:
    """intake.yaml names real questions and answers, its own terms and macros, and compiles."""
    from engine.kb.intake_phrases import PhraseError, phrase_pattern

    if raw.intake is None:
        return
    file = "intake.yaml"
    questions = {n: node for n, (k, _, node) in nodes.items() if k == "questions" and isinstance(node, Question)}
    valid_questions = ", ".join(sorted(questions))
    terms: set[str] = set()
    for i, term in enumerate(raw.intake.terms):
        if term.id in terms:
            raw.error(file, ["terms", i, "id"], f"duplicate term '{term.id}'", "give each term its own id")
        terms.add(term.id)
        for part, phrases in (("phrases", term.phrases), ("opposite", term.opposite)):
            for lang in ("en", "ja"):
                for j, phrase in enumerate(getattr(phrases, lang)):
                    try:
                        phrase_pattern(phrase, lang, raw.intake.macros)
                    except PhraseError as exc:
                        raw.error(file, ["terms", i, part, lang, j], f"phrase {phrase!r}: {exc}",
                                  "fix the pattern (Python 're' syntax; macros are written {name})")
    for i, rule in enumerate(raw.intake.rules):
        question = questions.get(rule.question)
        if question is None:
            raw.error(file, ["rules", i, "question"], f"unknown question '{rule.question}'",
                      f"valid questions: {valid_questions}")
        elif rule.answer not in question.answers:
            raw.error(file, ["rules", i, "answer"], f"'{rule.answer}' is not an answer of '{rule.question}'",
                      f"valid answers: {', '.join(question.answers)}")
        for key in ("when", "when_any", "unless", "elsewhere", "unless_sentence", "unless_elsewhere"):
            for j, condition in enumerate(getattr(rule, key)):
                if condition.removeprefix("not ") not in terms:
                    raw.error(file, ["rules", i, key, j], f"unknown term '{condition.removeprefix('not ')}'",
                              f"define it under 'terms' or use one of: {', '.join(sorted(terms))}")
    for i, question_id in enumerate(raw.intake.checklist):
        if question_id not in questions:
            raw.error(file, ["checklist", i], f"unknown question '{question_id}'",
                      f"valid questions: {valid_questions}")


def validate(name_or_path: str | Path, *, identifiability: bool = True) -> tuple[KnowledgeBase | None, RawPack]:
    """Load and check a pack; the KB is None when any error makes it unusable."""
    raw = read_pack(name_or_path)
    if any(p.severity == "error" for p in raw.problems):
        return None, raw  # cross-file checks on half-read files would only add noise
    nodes = check_unique_ids(raw)
    check_causes(raw)
    check_refines(raw)
    check_identifiability_notes(raw)
    for key, i, node in _graph_nodes(raw):
        if not isinstance(node, Cause):
            check_cpd(raw, nodes, key, i, node)
    check_references(raw, nodes)
    check_intake(raw, nodes)
    graph_ok = check_graph(raw, nodes) if raw.causes and raw.questions else False
    if any(p.severity == "error" for p in raw.problems) or not graph_ok:
        return None, raw
    assert raw.pack is not None and raw.causes is not None and raw.questions is not None
    kb = KnowledgeBase(
        directory=raw.directory,
        pack=raw.pack,
        causes={c.id: c for c in raw.causes.causes},
        mechanisms={m.id: m for m in raw.mechanisms.mechanisms},
        questions={q.id: q for q in raw.questions.questions},
        fixes={f.id: f for f in raw.fixes.fixes},
        signatures={s.id: s for s in raw.signatures.signatures},
        version_hash=content_hash(raw.directory),
        problems=raw.problems,
        intake=raw.intake,
        reply_codes=list(raw.reply_codes.codes),
    )
    if identifiability:
        from engine.kb.identifiability import identifiability_warnings

        notes = {frozenset(note.causes): n for n, note in enumerate(kb.pack.identifiability_notes)}
        flagged: set[frozenset[str]] = set()
        for first, second, detail in identifiability_warnings(kb):
            flagged.add(frozenset((first, second)))
            if frozenset((first, second)) in notes:
                continue  # a documented look-alike: pack.yaml says why both nodes stay
            i = list(kb.causes).index(first)
            raw.warning("causes.yaml", ["causes", i, "id"],
                        f"causes '{first}' and '{second}' cannot be told apart by any question ({detail})",
                        "add a question whose answer differs between them, merge them, or explain the pair "
                        "in pack.yaml identifiability_notes")
        for pair, n in notes.items():
            if pair not in flagged:
                raw.warning("pack.yaml", ["identifiability_notes", n, "causes"],
                            f"the note on {sorted(pair)} is stale: a question now tells them apart",
                            "remove the note, so that a later regression is reported again")
    return kb, raw


def load_kb(name_or_path: str | Path) -> KnowledgeBase:
    """A usable KB or a ``KbError`` carrying every problem; validated once per content hash."""
    from engine.kb.kbcache import read_cached, write_cached

    directory = resolve_pack_dir(name_or_path)
    version_hash = content_hash(directory)
    cached = read_cached(directory, version_hash)
    if cached is not None:
        return cached
    kb, raw = validate(directory, identifiability=False)
    if kb is None:
        raise KbError(raw.problems)
    write_cached(kb)
    return kb
