"""Quality (authors): how well the pack ranks cases it never saw, and what learning would change.

Evaluation is the same as ``rootward evaluate``: the frozen test split (a fixed rule on case ids,
which nothing learns from) beside k-fold cross-validation on the other cases (every fold starts
from the expert CPDs), overall and per family, with the coverage; simulated sessions are
``rootward simulate``. "Learn and preview" fits the
parameters to the reviewed cases and shows the largest changes first; ``learned.yaml`` is written
only when the author presses the second button, after reading them, because it changes every later
diagnosis.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from engine.case_schema import Case
from engine.contracts import EvaluationOut, LearnPreviewOut, PackView
from engine.errors import CaseError, LearnError, StoreError
from ui import state
from ui.auth import require_author
from ui.charts import calibration_figure

EVALUATION_KEY = "evaluation_result"
PREVIEW_KEY = "learn_preview_result"
SIMULATION_KEY = "simulation_result"
AUTHOR = "ui:author"


def render() -> None:
    st.title("Quality")
    if not require_author():
        return
    ref = state.pack()
    pack = state.pack_view(ref)
    try:
        file_cases, reviewed = _cases(ref)
    except (CaseError, StoreError) as exc:
        st.error(str(exc))
        return
    evaluation_cases = {**{c.id: c for c in file_cases}, **{c.id: c for c in reviewed}}
    learning_cases = {**{c.id: c for c in file_cases if c.status == "reviewed"}, **{c.id: c for c in reviewed}}
    st.caption(f"`{pack.id}` KB `{pack.hash}` · {len(file_cases)} case file(s) in the pack's case directory, "
               f"{len(reviewed)} reviewed case(s) in the database")
    evaluate_tab, learn_tab, simulate_tab = st.tabs(["Evaluation", "Learn and preview", "Simulated sessions"])
    with evaluate_tab:
        _evaluation(ref, pack, sorted(evaluation_cases.values(), key=lambda c: c.id))
    with learn_tab:
        _learning(ref, pack, list(learning_cases.values()))
    with simulate_tab:
        _simulation(ref, pack)


def _cases(ref: str) -> tuple[list[Case], list[Case]]:
    """Case files beside the pack, and the reviewed cases of the store (as ``rootward evaluate`` reads them)."""
    files = state.service().case_files(ref)
    access = state.store_access()
    if access.records is None:
        return files, []
    return files, access.records.cases([state.service().summary(ref)["id"]], "reviewed")


def _evaluation(ref: str, pack: PackView, cases: list[Case]) -> None:
    learning = state.service().outside_test_split(cases)
    if len(learning) < 2:
        st.info(f"Cross-validation needs at least 2 cases outside the frozen test split; there are {len(cases)} "
                "case(s) in all. Accept drafts on the Cases page or add case files under data/cases/.")
        return
    settings = st.columns(2)
    folds = settings[0].number_input("Folds", min_value=2, max_value=max(2, len(learning)),
                                     value=min(5, len(learning)))
    ess = settings[1].number_input("Prior strength (pseudo-cases per CPT row)", min_value=0.1, value=20.0)
    if st.button("Run evaluation", type="primary", key="run_evaluation"):
        with st.spinner(f"Scoring the frozen test split and cross-validating the rest in {folds} folds…"):
            evaluation = state.service().evaluate(ref, cases, int(folds), float(ess))
        st.session_state[EVALUATION_KEY] = (pack.hash, evaluation)
    stored = st.session_state.get(EVALUATION_KEY)
    if stored is None or stored[0] != pack.hash:
        return
    result: EvaluationOut = stored[1]
    data: dict[str, Any] = result.data
    test = data["test_split"]
    st.markdown(f"**Frozen test split** (`{test['rule']}`): {test['coverage']['cases']} case(s) that nothing learns "
                f"from, scored by the model learned from the other {test['learned_from']}, shown only in total. "
                f"**Cross-validation**: {data['folds']} folds over those {test['learned_from']}. Quote the frozen "
                "split; cross-validation shows how well the pack fits the cases its authors knew.")
    st.dataframe(pd.DataFrame(result.comparison), hide_index=True, width="stretch", key="split_comparison")
    st.markdown("**Per family** (category of the confirmed cause)")
    st.dataframe(pd.DataFrame(result.families), hide_index=True, width="stretch", key="family_comparison")
    left, right = st.columns([2, 3])
    with left:
        st.pyplot(calibration_figure(data["calibration"], f"{data['n_cases']} cases, {data['folds']}-fold CV"),
                  clear_figure=True)
    with right:
        st.markdown("**Most frequent confusions** (predicted leader, actual cause)")
        if data["confusions"]:
            st.dataframe(pd.DataFrame(data["confusions"]), hide_index=True, width="stretch", key="confusions")
        else:
            st.caption("Every case's leader was a confirmed cause.")
        st.markdown("**Per case** (cross-validation; the frozen split is shown only in total)")
        st.dataframe(pd.DataFrame([{"case": c["id"], "fold": c["fold"], "confirmed": ", ".join(c["confirmed"]),
                                    "rank": c["rank"], "top 3": ", ".join(x["cause"] for x in c["top3"])}
                                   for c in data["cases"]]), hide_index=True, width="stretch", key="per_case")
    st.markdown("**Sensitivity**: single numbers whose odds, halved or doubled, change some case's leading cause")
    if data["sensitivity"]:
        st.dataframe(pd.DataFrame([{k: v for k, v in row.items() if k != "changed"} for row in data["sensitivity"]]),
                     hide_index=True, width="stretch", key="sensitivity")
    else:
        st.caption("No single prior or CPD entry changes a leading cause by a factor of two.")


def _learning(ref: str, pack: PackView, cases: list[Case]) -> None:
    if not cases:
        st.info("Learning uses reviewed cases only, and there are none yet: accept drafts on the Cases page.")
        return
    ess = st.number_input("Prior strength (pseudo-cases per CPT row at the expert values)", min_value=0.1,
                          value=20.0, key="learn_ess")
    if st.button("Learn and preview", type="primary", key="learn_preview"):
        try:
            with st.spinner(f"Fitting the parameters to {len(cases)} reviewed case(s) by EM…"):
                preview = state.service().learn(ref, cases, float(ess), top=30)
        except LearnError as exc:
            st.error(str(exc))
            return
        st.session_state[PREVIEW_KEY] = (pack.hash, preview)
    stored = st.session_state.get(PREVIEW_KEY)
    if stored is None or stored[0] != pack.hash:
        return
    result: LearnPreviewOut = stored[1]
    status = "converged" if result.converged else "stopped at the iteration limit"
    held_out = (f"; {result.held_out} case(s) of the frozen test split left out, as always"
                if result.held_out else "")
    st.caption(f"EM {status} after {result.iterations} iterations on {result.cases} cases "
               f"({result.ticket_cases} from tickets{held_out}), prior strength {result.ess:g}. "
               "Largest changes first:")
    st.dataframe(pd.DataFrame([{**c, "when": ", ".join(f"{k}={v}" for k, v in c["when"].items()) or "(prior)"}
                               for c in result.changes]), hide_index=True, width="stretch", key="learn_changes",
                 column_config={"delta": st.column_config.NumberColumn(format="%+.3f")})
    st.warning("Writing learned.yaml changes every later diagnosis with this pack. Review the changes above first.")
    if st.button("Write learned.yaml", key="learn_write", icon=":material/save:"):
        try:
            path = state.service().write_learned(ref, result)
            access = state.store_access()
            if access.records is not None:
                access.records.audit(AUTHOR, "learn.write", pack.id,
                                     {"cases": result.cases, "ess": result.ess, "file": str(path)})
        except (OSError, StoreError) as exc:
            st.error(f"learned.yaml was not written: {exc}")
            return
        st.session_state.pop(PREVIEW_KEY, None)
        st.success(f"Wrote {path}.")


def _simulation(ref: str, pack: PackView) -> None:
    """Questions and minutes each policy needs on sampled sessions (``rootward simulate``)."""
    st.caption("Each run draws a true cause (by prior), samples a consistent world, and lets each policy ask until "
               "a cause leads with the stopping probability. All policies see the same worlds.")
    settings = st.columns(3)
    runs = settings[0].number_input("Runs", min_value=1, max_value=500, value=3, key="sim_runs",
                                    help="about 15 s per run: our policy weighs every question at every step")
    faults = settings[1].selectbox("Causes present per run", (1, 2), key="sim_faults")
    seed = settings[2].number_input("Seed", min_value=0, value=0, key="sim_seed")
    if st.button("Simulate", type="primary", key="run_simulation"):
        bar = st.progress(0.0, text="Simulating…")
        done = [0]

        def advance() -> None:
            done[0] += 1
            bar.progress(done[0] / int(runs), text=f"Simulated {done[0]} of {int(runs)} sessions")

        result = state.service().simulate(ref, int(runs), seed=int(seed), faults=int(faults or 1), progress=advance)
        bar.empty()
        st.session_state[SIMULATION_KEY] = (pack.hash, result)
    stored = st.session_state.get(SIMULATION_KEY)
    if stored is None or stored[0] != pack.hash:
        return
    report: dict[str, Any] = stored[1]
    policies: dict[str, dict[str, float]] = report["policies"]
    names = {"rootward": "Rootward (value of information)",
             "rootward_leading": "Rootward (value of information, leading causes)",
             "fixed": "fixed order (questions.yaml)", "random": "random order"}
    st.dataframe(pd.DataFrame([{"policy": names.get(name, name), **summary}
                               for name, summary in policies.items()]),
                 hide_index=True, width="stretch", key="simulation_table",
                 column_config={"success_rate": st.column_config.NumberColumn("leader is a true cause",
                                                                              format="percent")})
    ratio = report["ratio_to_lower_bound"]
    st.caption(f"{report['runs']} runs, {report['faults']} cause(s) each, stop at "
               f"P(leader) ≥ {report['stop_probability']:.0%}. Information-theoretic floor (Fano): "
               f"{report['lower_bound_questions']:.1f} questions"
               + (f"; Rootward asks {ratio:.1f}× that." if ratio is not None else "."))
