"""Exactness, batching, impossible evidence, persistence and import hygiene of the junction tree."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.infer.junction_tree import JunctionTree, factorises
from engine.model.importer import read_network
from engine.model.network import DiscreteNetwork, Variable
from tests.infer_helpers import (
    NETWORKS,
    brute_force,
    likelihoods,
    pgmpy_reference,
    random_evidence,
    random_network,
    seeds,
)

ATOL = 1e-9
REPO = Path(__file__).resolve().parent.parent


def assert_matches(
    tree: JunctionTree,
    lams: dict[str, np.ndarray],
    expected: dict[str, np.ndarray] | None,
    log_p: float,
    *,
    prune: bool = True,
    barren: bool = False,
    targets: list[str] | None = None,
) -> None:
    result = tree.propagate(lams, 1, targets, prune=prune, barren=barren)
    if expected is None:
        assert result.impossible[0]
        assert result.log_evidence[0] == -math.inf
        for name in result.targets:
            assert not result.marginal(name).any()
        return
    assert not result.impossible[0]
    assert result.log_evidence[0] == pytest.approx(log_p, abs=ATOL)
    for name in result.targets:
        np.testing.assert_allclose(result.marginal(name)[0], expected[name], atol=ATOL, rtol=0, err_msg=name)


@settings(max_examples=60, deadline=None)
@given(seed=seeds, n_nodes=st.integers(1, 10), n_hard=st.integers(0, 4), n_soft=st.integers(0, 3))
def test_small_random_networks_match_brute_force(seed: int, n_nodes: int, n_hard: int, n_soft: int) -> None:
    rng = np.random.default_rng(seed)
    network = random_network(rng, n_nodes)
    hard, soft = random_evidence(rng, network, n_hard, n_soft)
    lams = likelihoods(network, hard, soft)
    expected, total = brute_force(network, {n: lam[0] for n, lam in lams.items()})
    tree = JunctionTree.compile(network)
    targets = list(rng.permutation(network.names))[: int(rng.integers(1, n_nodes + 1))]
    for prune, barren, wanted in ((True, False, None), (False, False, None), (True, True, targets)):
        assert_matches(
            tree,
            lams,
            expected if total > 0 else None,
            math.log(total) if total > 0 else 0.0,
            prune=prune,
            barren=barren,
            targets=wanted,
        )


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=seeds, n_nodes=st.integers(10, 30), n_hard=st.integers(0, 5), n_soft=st.integers(0, 2))
def test_random_dags_match_pgmpy_variable_elimination(seed: int, n_nodes: int, n_hard: int, n_soft: int) -> None:
    rng = np.random.default_rng(seed)
    network = random_network(rng, n_nodes)
    hard, soft = random_evidence(rng, network, n_hard, n_soft)
    expected, log_p = pgmpy_reference(network, hard, soft)
    tree = JunctionTree.compile(network)
    lams = likelihoods(network, hard, soft)
    assert_matches(tree, lams, expected, log_p)
    assert_matches(tree, lams, expected, log_p, barren=True, targets=network.names[:3])


@settings(max_examples=25, deadline=None)
@given(seed=seeds, batch=st.integers(1, 7))
def test_batch_equals_separate_runs(seed: int, batch: int) -> None:
    rng = np.random.default_rng(seed)
    network = random_network(rng, int(rng.integers(2, 16)))
    tree = JunctionTree.compile(network)
    rows = [likelihoods(network, *random_evidence(rng, network, 3, 2)) for _ in range(batch)]
    names = sorted({n for row in rows for n in row})
    stacked = {n: np.concatenate([row.get(n, np.ones((1, network.cardinality(n)))) for row in rows]) for n in names}
    together = tree.propagate(stacked, batch)
    chunked = tree.propagate(stacked, batch, max_bytes=1)  # one row per chunk
    np.testing.assert_array_equal(chunked.log_evidence, together.log_evidence)
    for b, row in enumerate(rows):
        alone = tree.propagate(row, 1)
        assert together.impossible[b] == alone.impossible[0]
        assert together.log_evidence[b] == pytest.approx(alone.log_evidence[0], abs=1e-12)
        for name in network.names:
            np.testing.assert_allclose(together.marginal(name)[b], alone.marginal(name)[0], atol=1e-12, rtol=0)


def test_shared_rows_broadcast_over_the_batch() -> None:
    rng = np.random.default_rng(7)
    network = random_network(rng, 12)
    tree = JunctionTree.compile(network)
    hard, soft = random_evidence(rng, network, 2, 1)
    shared = likelihoods(network, hard, soft)
    varying = network.names[-1] if network.names[-1] not in shared else network.names[0]
    card = network.cardinality(varying)
    lams = {**shared, varying: np.eye(card)}
    batched = tree.propagate(lams, card)
    for k in range(card):
        alone = tree.propagate({**shared, varying: np.eye(card)[[k]]}, 1)
        np.testing.assert_allclose(batched.log_evidence[k], alone.log_evidence[0], atol=1e-12)
        for name in network.names:
            np.testing.assert_allclose(batched.marginal(name)[k], alone.marginal(name)[0], atol=1e-12)


def _deterministic_chain() -> DiscreteNetwork:
    network = DiscreteNetwork()
    network.add(Variable("A", ("a0", "a1"), (), np.array([0.3, 0.7])))
    network.add(Variable("B", ("b0", "b1"), ("A",), np.array([[1.0, 0.0], [0.0, 1.0]])))
    network.add(Variable("C", ("c0", "c1", "c2"), ("B",), np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])))
    network.add(Variable("D", ("d0", "d1"), (), np.array([0.9, 0.1])))
    return network


def test_zero_probability_evidence_is_flagged_without_warnings() -> None:
    tree = JunctionTree.compile(_deterministic_chain())
    # row 0: A=a0, C=c2 impossible; row 1: possible; row 2: soft evidence that rules out everything
    lams = {
        "A": np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0]]),
        "C": np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [1.0, 1.0, 1.0]]),
        "D": np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]]),
    }
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        for prune in (True, False):
            result = tree.propagate(lams, 3, prune=prune)
            assert result.impossible.tolist() == [True, False, True]
            assert result.log_evidence[0] == -math.inf and result.log_evidence[2] == -math.inf
            assert result.log_evidence[1] == pytest.approx(math.log(0.3 * 0.5))
            for name in ("A", "B", "C", "D"):
                marginal = result.marginal(name)
                assert not np.isnan(marginal).any()
                assert not marginal[[0, 2]].any()
            np.testing.assert_allclose(result.marginal("C")[1], [1.0, 0.0, 0.0])


def test_tiny_likelihoods_do_not_underflow() -> None:
    network = _deterministic_chain()
    tree = JunctionTree.compile(network)
    scale = 1e-200
    result = tree.propagate({"A": np.array([[scale, 3 * scale]]), "D": np.array([[scale, scale]])}, 1)
    assert not result.impossible[0]
    assert result.log_evidence[0] == pytest.approx(math.log(scale * (0.3 + 2.1)) + math.log(scale), rel=1e-12)
    np.testing.assert_allclose(result.marginal("A")[0], [0.3 / 2.4, 2.1 / 2.4])


def test_targets_restrict_the_output() -> None:
    tree = JunctionTree.compile(_deterministic_chain())
    result = tree.propagate({"C": np.array([[0.0, 1.0, 0.0]])}, 1, targets=["A"])
    assert result.targets == ("A",)
    np.testing.assert_allclose(result.marginal("A")[0], [1.0, 0.0])
    with pytest.raises(KeyError):
        result.marginal("B")


def test_bad_inputs_are_rejected() -> None:
    tree = JunctionTree.compile(_deterministic_chain())
    with pytest.raises(ValueError):
        tree.propagate({"A": np.ones((2, 2))}, 3)
    with pytest.raises(ValueError):
        tree.propagate({"A": np.array([[-1.0, 1.0]])}, 1)
    with pytest.raises(KeyError):
        tree.propagate({"nope": np.ones((1, 2))}, 1)
    broken = DiscreteNetwork()
    broken.add(Variable("X", ("x0", "x1"), (), np.array([0.5, 0.7])))
    with pytest.raises(ValueError):
        JunctionTree.compile(broken)


@pytest.fixture(scope="module")
def alarm() -> DiscreteNetwork:
    return read_network(NETWORKS / "alarm.bif.gz")


@pytest.mark.parametrize("name", ["asia", "alarm"])
def test_real_networks_match_pgmpy(name: str) -> None:
    network = read_network(NETWORKS / f"{name}.bif.gz")
    tree = JunctionTree.compile(network)
    rng = np.random.default_rng(11)
    for n_hard, n_soft in ((2, 0), (3, 1)):
        hard, soft = random_evidence(rng, network, n_hard, n_soft)
        expected, log_p = pgmpy_reference(network, hard, soft)
        assert_matches(tree, likelihoods(network, hard, soft), expected, log_p)


def test_evidence_free_subtrees_read_out_linearly_match_the_full_outward_pass() -> None:
    """Targets in subtrees without evidence come from one matrix product per subtree (``_Readout``);
    on ALARM with a batch of soft and hard rows they agree with the textbook two-pass propagation."""
    network = read_network(NETWORKS / "alarm.bif.gz")
    tree = JunctionTree.compile(network)
    rng = np.random.default_rng(5)
    observed = list(network.names)[-4:]
    lams = {name: rng.uniform(0.05, 1.0, size=(6, network.cardinality(name))) for name in observed}
    lams[observed[0]][0] = 0.0
    lams[observed[0]][0, 0] = 1.0
    schedule = tree._schedule(frozenset(tree._index[n] for n in lams), frozenset(range(len(tree.names))), True)
    assert schedule.readouts, "this query should read some subtree out linearly"
    pruned = tree.propagate(lams, 6)
    full = tree.propagate(lams, 6, prune=False)
    np.testing.assert_allclose(pruned.log_evidence, full.log_evidence, atol=1e-12, rtol=0)
    for name in full.targets:
        np.testing.assert_allclose(pruned.marginal(name), full.marginal(name), atol=1e-12, rtol=0, err_msg=name)


def test_a_long_evidence_free_chain_is_read_out_without_recursion() -> None:
    """A chain of 1,500 cliques below the evidence is one evidence-free subtree: its read-out walks it
    with a stack (recursion would pass Python's limit) and agrees with the two-pass propagation."""
    network = DiscreteNetwork()
    network.add(Variable("X0", ("f", "t"), (), np.array([0.4, 0.6])))
    for i in range(1, 1500):
        network.add(Variable(f"X{i}", ("f", "t"), (f"X{i - 1}",), np.array([[0.9, 0.1], [0.2, 0.8]])))
    tree = JunctionTree.compile(network)
    evidence = {"X0": np.array([[1.0, 0.0]])}
    pruned, full = tree.propagate(evidence, 1), tree.propagate(evidence, 1, prune=False)
    for name in ("X1", "X750", "X1499"):
        np.testing.assert_allclose(pruned.marginal(name), full.marginal(name), atol=1e-12, rtol=0)
    np.testing.assert_allclose(pruned.marginal("X1499")[0], [2 / 3, 1 / 3], atol=1e-9)


def test_save_load_round_trip(tmp_path: Path, alarm: DiscreteNetwork) -> None:
    tree = JunctionTree.compile(alarm)
    tree.save(tmp_path / "alarm")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alarm.json", "alarm.npz"]
    loaded = JunctionTree.load(tmp_path / "alarm")
    assert loaded.names == tree.names and loaded.cliques == tree.cliques and loaded.edges == tree.edges
    rng = np.random.default_rng(3)
    lams = likelihoods(alarm, *random_evidence(rng, alarm, 3, 1))
    before, after = tree.propagate(lams, 1), loaded.propagate(lams, 1)
    assert before.log_evidence[0] == after.log_evidence[0]
    for name in alarm.names:
        np.testing.assert_array_equal(before.marginal(name), after.marginal(name))
    with np.load(tmp_path / "alarm.npz", allow_pickle=False) as data:
        assert all(data[key].dtype == np.float64 for key in data.files)


def test_load_and_import_need_no_heavy_libraries(tmp_path: Path, alarm: DiscreteNetwork) -> None:
    JunctionTree.compile(alarm).save(tmp_path / "alarm")
    code = (
        "import sys, numpy as np\n"
        "import engine.infer, engine.infer.junction_tree, engine.infer.voi\n"
        "from engine.infer import JunctionTree\n"
        f"tree = JunctionTree.load({str(tmp_path / 'alarm')!r})\n"
        "tree.propagate({tree.names[0]: np.ones((1, tree.cardinality(tree.names[0])))}, 1)\n"
        "tree.propagate({}, 1, [tree.names[-1]], barren=True)  # compiles a pruned sub-tree\n"
        "heavy = [m for m in ('pgmpy', 'networkx', 'pandas', 'scipy', 'sqlalchemy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_gathered_broadcasts_and_their_cache_budget_change_no_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gather path for short-run broadcasts (big cliques only, so the mail pack) equals plain
    broadcasting, also when the index cache is too small to keep every index and must evict."""
    import engine.infer.junction_tree as jt
    from engine.kb.validate import load_kb
    from engine.model.compile import compile_network

    network = compile_network(load_kb("mail_delivery"))
    tree = JunctionTree.compile(network)
    rng = np.random.default_rng(7)
    causes = [n for n in network.names if not network.variables[n].parents]
    lams = {c: rng.uniform(0.05, 1.0, size=(16, 2)) for c in causes[:10]}
    lams["mail_problem"] = np.array([[0.0, 1.0]])

    monkeypatch.setattr(jt, "GATHER_MIN_ENTRIES", 1 << 40)
    monkeypatch.setattr(jt, "_expansion_indices", {})
    plain = tree.propagate(lams, 16)
    assert all(index is None for index in jt._expansion_indices.values())

    monkeypatch.setattr(jt, "GATHER_MIN_ENTRIES", 512)
    monkeypatch.setattr(jt, "GATHER_CACHE_ENTRIES", 20_000)
    monkeypatch.setattr(jt, "_expansion_indices", {})
    gathered = tree.propagate(lams, 16)
    kept = [index.size for index in jt._expansion_indices.values() if index is not None]
    assert kept and sum(kept) <= 20_000
    monkeypatch.setattr(jt, "GATHER_CACHE_ENTRIES", 1 << 30)
    monkeypatch.setattr(jt, "_expansion_indices", {})
    tree.propagate(lams, 16)
    assert sum(i.size for i in jt._expansion_indices.values() if i is not None) > 20_000  # so it had to evict
    np.testing.assert_allclose(gathered.log_evidence, plain.log_evidence, atol=1e-12, rtol=0)
    for name in network.names:
        np.testing.assert_allclose(gathered.marginal(name), plain.marginal(name), atol=1e-12, rtol=0, err_msg=name)


def test_row_normalisation_holds_for_any_memory_order() -> None:
    """A root belief in Fortran order (as broadcasting can produce) is normalised itself, not a copy."""
    from engine.infer.junction_tree import _normalise_rows

    rng = np.random.default_rng(7)
    belief = np.asfortranarray(rng.random((5, 2, 3, 2, 2)))
    belief[2] = 0.0
    expected_totals = belief.reshape(5, -1).sum(axis=1)
    totals = _normalise_rows(belief)
    np.testing.assert_allclose(totals, expected_totals)
    sums = belief.reshape(5, -1).sum(axis=1)
    np.testing.assert_allclose(sums, [1.0, 1.0, 0.0, 1.0, 1.0], atol=1e-15)


def test_schedule_cache_stays_in_budget_under_concurrent_queries(monkeypatch: pytest.MonkeyPatch,
                                                                 alarm: DiscreteNetwork) -> None:
    """Query plans are evicted by their budget (one for all trees) while eight threads query many
    shapes on two trees at once, and every answer equals the one a tree with room for all gives."""
    from concurrent.futures import ThreadPoolExecutor

    import engine.infer.junction_tree as jt

    reference = JunctionTree.compile(alarm)
    leaves = [n for n in alarm.names if not any(n in v.parents for v in alarm.variables.values())]
    shapes = [(leaves[i:i + 3], [alarm.names[(7 * i) % len(alarm.names)]]) for i in range(len(leaves) - 2)]

    def query(tree: JunctionTree, shape: tuple[list[str], list[str]]) -> tuple[np.ndarray, np.ndarray]:
        observed, targets = shape
        lams = {name: np.eye(tree.cardinality(name))[:1] for name in observed}
        result = tree.propagate(lams, 1, targets)
        return result.log_evidence, result.marginal(targets[0])

    expected = [query(reference, shape) for shape in shapes]
    budget = 2 * max(s.owned_bytes for s in reference._schedules.values())
    assert budget > 0
    monkeypatch.setattr(jt, "SCHEDULE_BYTES", budget)
    monkeypatch.setattr(jt, "_schedule_cache", jt._ScheduleCache())
    trees = [JunctionTree.compile(alarm), JunctionTree.compile(alarm)]
    work = [(trees[i % 2], shape) for i, shape in enumerate(shapes * 8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda item: query(*item), work))
    held = jt.schedule_cache_bytes()
    assert held <= budget or len(jt._schedule_cache.order) == 1
    assert held == sum(s.owned_bytes for tree in trees for s in tree._schedules.values())
    assert sum(len(tree._schedules) for tree in trees) < len(shapes)  # so it had to evict
    for (log_p, marginal), (want_log_p, want_marginal) in zip(answers, expected * 8, strict=True):
        np.testing.assert_allclose(log_p, want_log_p, atol=1e-12, rtol=0)
        np.testing.assert_allclose(marginal, want_marginal, atol=1e-12, rtol=0)


def with_noisy_or_leaf(rng: np.random.Generator, network: DiscreteNetwork, n_parents: int) -> DiscreteNetwork:
    """``network`` plus a binary leaf ``LEAF`` that is a noisy-OR of ``n_parents`` of its variables:
    P(LEAF = s0 | x) = (1 - leak) Π_i q_i(x_i), each parent's first state inhibiting nothing."""
    parents = tuple(sorted(rng.choice(network.names, size=min(n_parents, len(network.names)), replace=False)))
    cards = [network.cardinality(p) for p in parents]
    off = np.full(tuple(cards), 1.0 - float(rng.uniform(0.0, 0.3)))
    for axis, card in enumerate(cards):
        inhibit = np.concatenate([[1.0], rng.uniform(0.05, 1.0, size=card - 1)])
        off = off * inhibit.reshape([card if a == axis else 1 for a in range(len(cards))])
    extended = DiscreteNetwork(dict(network.variables))
    extended.add(Variable("LEAF", ("s0", "s1"), parents, np.stack([off, 1.0 - off], axis=-1)))
    return extended


@settings(max_examples=40, deadline=None)
@given(seed=seeds, n_nodes=st.integers(1, 8), n_parents=st.integers(1, 4), n_hard=st.integers(0, 3),
       leaf=st.sampled_from(["s0", "s1", "soft", "none"]))
def test_a_factorised_noisy_or_leaf_matches_brute_force(seed: int, n_nodes: int, n_parents: int, n_hard: int,
                                                       leaf: str) -> None:
    """Compiled out of the cliques, a noisy-OR leaf gives the same posteriors and P(e), whether it is
    observed in either state, softly, or not at all, asked about or not, pruned or not."""
    rng = np.random.default_rng(seed)
    network = with_noisy_or_leaf(rng, random_network(rng, n_nodes), n_parents)
    hard, soft = random_evidence(rng, network, n_hard, 1)
    hard.pop("LEAF", None)
    soft.pop("LEAF", None)
    if leaf in ("s0", "s1"):
        hard["LEAF"] = int(leaf[1])
    elif leaf == "soft":
        soft["LEAF"] = rng.uniform(0.0, 2.0, size=2)
    lams = likelihoods(network, hard, soft)
    expected, total = brute_force(network, {n: lam[0] for n, lam in lams.items()})
    tree = JunctionTree.compile(network, factorised=["LEAF"])
    assert all(tree.names.index("LEAF") not in clique for clique in tree.cliques)
    targets = list(rng.permutation(network.names))[: int(rng.integers(1, len(network.names) + 1))]
    for prune, barren, wanted in ((True, False, None), (False, False, None), (True, True, targets),
                                  (True, False, targets)):
        assert_matches(tree, lams, expected if total > 0 else None, math.log(total) if total > 0 else 0.0,
                       prune=prune, barren=barren, targets=wanted)
    np.testing.assert_allclose(tree.prior_marginal("LEAF"), brute_force(network, {})[0]["LEAF"], atol=ATOL, rtol=0)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=seeds, n_nodes=st.integers(10, 25), n_parents=st.integers(3, 8))
def test_a_factorised_leaf_matches_pgmpy_in_batches_and_after_a_reload(tmp_path_factory: pytest.TempPathFactory,
                                                                     seed: int, n_nodes: int, n_parents: int) -> None:
    rng = np.random.default_rng(seed)
    network = with_noisy_or_leaf(rng, random_network(rng, n_nodes), n_parents)
    hard, soft = random_evidence(rng, network, 3, 1)
    hard["LEAF"] = 1
    soft.pop("LEAF", None)
    expected, log_p = pgmpy_reference(network, hard, soft)
    tree = JunctionTree.compile(network, factorised=["LEAF"])
    plain = JunctionTree.compile(network)
    assert tree.total_size <= plain.total_size
    path = tmp_path_factory.mktemp("tree") / "leaf"
    tree.save(path)
    for candidate in (tree, JunctionTree.load(path)):
        assert_matches(candidate, likelihoods(network, hard, soft), expected, log_p)
    # a batch that mixes the leaf's states and leaves it out in some rows equals separate runs
    rows = [likelihoods(network, *random_evidence(rng, network, 2, 1)) for _ in range(4)]
    rows[0]["LEAF"] = np.array([[1.0, 0.0]])
    rows[1]["LEAF"] = np.array([[0.0, 1.0]])
    rows[2]["LEAF"] = np.array([[1.0, 1.0]])
    names = sorted({n for row in rows for n in row})
    stacked = {n: np.concatenate([row.get(n, np.ones((1, network.cardinality(n)))) for row in rows]) for n in names}
    together = tree.propagate(stacked, len(rows))
    for b, row in enumerate(rows):
        alone = plain.propagate(row, 1)
        assert together.log_evidence[b] == pytest.approx(alone.log_evidence[0], abs=ATOL)
        for name in network.names:
            np.testing.assert_allclose(together.marginal(name)[b], alone.marginal(name)[0], atol=ATOL, rtol=0)


def test_only_a_childless_leaf_whose_cpt_factorises_is_compiled_out() -> None:
    rng = np.random.default_rng(3)
    network = with_noisy_or_leaf(rng, random_network(rng, 6), 3)
    assert factorises(network, "LEAF")
    with_child = DiscreteNetwork(dict(network.variables))
    with_child.add(Variable("CHILD", ("a", "b"), ("LEAF",), np.array([[0.9, 0.1], [0.2, 0.8]])))
    assert not factorises(with_child, "LEAF")
    with pytest.raises(ValueError, match="childless"):
        JunctionTree.compile(with_child, factorised=["LEAF"])
    full = DiscreteNetwork(dict(network.variables))
    leaf = network.variables["LEAF"]
    table = rng.uniform(0.05, 0.95, size=leaf.cpt.shape[:-1])
    full.add(Variable("LEAF", leaf.states, leaf.parents, np.stack([table, 1.0 - table], axis=-1)))
    assert not factorises(full, "LEAF")
    with pytest.raises(ValueError, match="does not factorise"):
        JunctionTree.compile(full, factorised=["LEAF"])


def test_the_mail_packs_complaint_is_compiled_out_and_changes_no_posterior() -> None:
    """The pack's model tree keeps its always-observed complaint out of the cliques (the tree is
    several times smaller), and every posterior and P(e) equals the plain tree's."""
    from engine.compiled.cache import compiled_model, inference_network
    from engine.reason.evidence import likelihood_batch
    from engine.service import Service

    service = Service()
    kb = service.kb("mail_delivery")
    complaint = kb.pack.complaint
    assert complaint is not None
    tree = compiled_model(kb).tree
    plain = JunctionTree.compile(inference_network(kb))
    assert tree.home[tree.names.index(complaint)] == -1
    assert 3 * tree.total_size < plain.total_size
    answers = [{}, {"attachment_mail_fails": "yes", "single_sender_affected": "yes"},
               {"all_mail_fails": "no", "policy_reject_logged": "yes", "failures_are_temporary": "no"}]
    lams = likelihood_batch(kb, [service.evidence(kb, a, {}) for a in answers])
    for barren, targets in ((False, None), (True, list(kb.causes))):
        ours = tree.propagate(lams, len(answers), targets, barren=barren)
        theirs = plain.propagate(lams, len(answers), targets, barren=barren)
        np.testing.assert_allclose(ours.log_evidence, theirs.log_evidence, atol=ATOL, rtol=0)
        for name in theirs.marginals:
            np.testing.assert_allclose(ours.marginal(name), theirs.marginal(name), atol=ATOL, rtol=0, err_msg=name)
