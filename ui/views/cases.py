"""Cases (authors): list and filter, review drafts, edit, accept, import and export YAML.

Cases are what learning and evaluation stand on, so every write goes through the same checks as
``rootward cases``: the YAML is parsed strictly and checked against the pack, problems are shown
with their line numbers, and nothing is written until the case is valid. Every write is audited.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from engine.case_schema import Case, CaseStatus
from engine.errors import CaseError, NotFoundError, StoreError
from engine.records import Records, case_yaml
from ui import state
from ui.auth import require_author

AUTHOR = "ui:author"
STATUS_FILTERS = ("all", "draft", "reviewed")


def render() -> None:
    st.title("Cases")
    if not require_author():
        return
    access = state.store_access()
    if access.records is None:
        st.error(f"The case store is not available: {access.problem}")
        return
    try:
        _page(access.records, state.pack())
    except (CaseError, StoreError, NotFoundError, ValueError) as exc:
        st.error(str(exc))


def _page(records: Records, pack: str) -> None:
    """``pack`` is the sidebar's pack: cases are checked against it and listed under its id."""
    pack_id = str(records.service.summary(pack)["id"])
    filters = st.columns([1, 3])
    status = filters[0].selectbox("Status", STATUS_FILTERS, key="case_status")
    needle = filters[1].text_input("Filter", key="case_filter", placeholder="id, title or cause")
    cases = records.cases([pack_id], None if status == "all" else status)  # type: ignore[arg-type]
    shown = [c for c in cases if _matches(c, needle)]
    st.caption(f"{len(shown)} of {len(cases)} case(s) of `{pack_id}`")
    if shown:
        st.dataframe(pd.DataFrame([_row(c) for c in shown]), hide_index=True, width="stretch", key="cases_table")
    review, io_tab = st.tabs(["Review and edit", "Import and export"])
    with review:
        _review(records, pack, shown)
    with io_tab:
        _import(records, pack)
        _export(pack_id, shown)


def _matches(case: Case, needle: str) -> bool:
    needle = needle.strip().lower()
    if not needle:
        return True
    haystack = " ".join([case.id, case.title or "", *case.confirmed_causes]).lower()
    return needle in haystack


def _row(case: Case) -> dict[str, object]:
    return {"id": case.id, "status": case.status, "title": case.title or "", "source": case.source.kind,
            "confirmed causes": ", ".join(case.confirmed_causes), "answers": len(case.answers()),
            "fixes tried": len(case.fixes_tried), "author": case.author, "updated": case.updated}


def _review(records: Records, pack: str, cases: Sequence[Case]) -> None:
    if not cases:
        st.caption("No case matches. Helpdesk staff create drafts from Diagnose → Resolve; or import files.")
        return
    drafts_first = sorted(cases, key=lambda c: (c.status != "draft", c.id))
    chosen = st.selectbox("Case", [c.id for c in drafts_first], key="case_choice",
                          format_func=lambda i: f"{i} ({next(c.status for c in cases if c.id == i)})")
    case = next(c for c in cases if c.id == chosen)
    st.markdown(f"**{case.title or case.id}** · {case.status} · {case.source.kind}: {case.source.reference}")
    if case.resolution:
        st.markdown(f"Resolution: {case.resolution}")
    text = st.text_area("Case YAML", case_yaml(case), height=360, key=f"case_yaml_{case.id}_{case.content_digest()}")
    buttons = st.columns(3)
    if buttons[0].button("Save changes", key="case_save", icon=":material/save:"):
        _save(records, pack, case, text)
    if case.status == "draft":
        if buttons[1].button("Accept (reviewed)", type="primary", key="case_accept", icon=":material/verified:"):
            _set_status(records, case.id, "reviewed")
    elif buttons[1].button("Back to draft", key="case_unaccept"):
        _set_status(records, case.id, "draft")
    buttons[2].download_button("Download YAML", case_yaml(case), file_name=f"{case.id}.yaml",
                               mime="application/yaml", key="case_download")


def _save(records: Records, pack: str, original: Case, text: str) -> None:
    """An edited case is checked like an imported one; a change of substance returns it to draft."""
    edited = records.checked_case(pack, text, f"{original.id}.yaml")
    if edited.id != original.id:
        st.error("The id cannot be changed here; export, rename and import instead.")
        return
    if edited.content_digest() != original.content_digest():
        edited = edited.model_copy(update={"status": "draft"})
    outcome = records.save(edited, AUTHOR)
    st.toast(f"{edited.id}: {outcome}")
    st.rerun()


def _set_status(records: Records, case_id: str, status: CaseStatus) -> None:
    records.set_status(case_id, status, AUTHOR)
    st.toast(f"{case_id}: {status}")
    st.rerun()


def _import(records: Records, pack: str) -> None:
    st.markdown("**Import YAML**")
    uploads = st.file_uploader("Case files", type=["yaml", "yml"], accept_multiple_files=True, key="case_upload")
    if not uploads or not st.button("Validate and import", key="case_import"):
        return
    documents = []
    for upload in uploads:
        try:
            documents.append((upload.name, upload.getvalue().decode("utf-8")))
        except UnicodeDecodeError:
            st.error(f"{upload.name}: not UTF-8 text")
            return
    try:
        report = records.import_texts(pack, documents, AUTHOR)
    except CaseError as exc:
        st.error(f"Nothing imported: {len(exc.problems)} problem(s).")
        st.code("\n".join(p.render() for p in exc.problems), language="text")
        return
    st.success(f"Imported {report['cases']} case(s): {report['inserted']} new, {report['updated']} updated, "
               f"{report['unchanged']} unchanged.")


def _export(pack_id: str, cases: Sequence[Case]) -> None:
    st.markdown("**Export YAML**")
    if not cases:
        st.caption("Nothing to export with the current filter.")
        return
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for case in cases:
            archive.writestr(f"{case.id}.yaml", case_yaml(case))
    st.download_button(f"Download {len(cases)} case(s) as a zip of YAML files", buffer.getvalue(),
                       file_name=f"{pack_id}-cases.zip", mime="application/zip", key="cases_zip")
