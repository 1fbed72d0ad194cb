"""Standard networks (BIF, XMLBIF) as knowledge packs: roots become causes, leaves questions.

The generated texts and costs are defaults for a person to improve, and every node says so in its
provenance; the numbers are the published CPTs, so ranking and next question work end to end.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from engine.kb.schema import UNKNOWN_ANSWER
from engine.model.network import DiscreteNetwork, Variable

DEFAULT_COST_MINUTES = 5.0


def identifier(name: str) -> str:
    """A KB id (lower snake case) for a network variable name."""
    cleaned = re.sub(r"[^a-z0-9]+", "_", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()).strip("_")
    if not cleaned or not cleaned[0].isalpha():
        cleaned = f"n_{cleaned}"
    return cleaned[:64]


def state_name(state: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.+-]+", "_", state).strip("_") or "state"
    if not re.match(r"[A-Za-z0-9_]", cleaned):
        cleaned = f"s_{cleaned}"
    return f"{cleaned}_state" if cleaned == UNKNOWN_ANSWER else cleaned[:64]


MAX_NETWORK_BYTES = 64 * 1024 * 1024
"""The largest bundled network (PATHFINDER) is 1.6 MB of BIF text; this leaves room and bounds a gzip bomb."""


def read_network(path: Path) -> DiscreteNetwork:
    """BIF or XMLBIF (either optionally gzipped, by extension), read at bounded size."""
    import zlib

    from engine.inputs import InputFileError, decode_utf8, read_regular_file

    data = read_regular_file(path, MAX_NETWORK_BYTES, "network file")
    if path.suffix == ".gz":
        inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
        try:
            data = inflater.decompress(data, MAX_NETWORK_BYTES + 1)
        except zlib.error as exc:
            raise InputFileError("not_gzip", f"{path}: not a gzip file ({exc})", {"file": str(path)}) from exc
        if len(data) > MAX_NETWORK_BYTES or inflater.unconsumed_tail:
            raise InputFileError("file_too_large", f"{path}: unpacks to more than {MAX_NETWORK_BYTES} bytes",
                                 {"file": str(path), "limit_bytes": MAX_NETWORK_BYTES})
    text = decode_utf8(data, path, "network file")
    if path.name.endswith((".xml", ".xmlbif", ".xml.gz", ".xmlbif.gz")):
        from pgmpy.readwrite import XMLBIFReader

        from engine.model.pgmpy_bridge import from_pgmpy

        return from_pgmpy(XMLBIFReader(string=text).get_model())
    from engine.model.bif import parse_bif

    return parse_bif(text)


def _table(variable: Variable, ids: dict[str, str], states: dict[str, list[str]], cpt: np.ndarray) -> dict[str, Any]:
    """An explicit table CPD, one row per parent combination."""
    rows = []
    parent_states = [states[p] for p in variable.parents]
    for index in np.ndindex(*(len(s) for s in parent_states)):
        row = cpt[index]
        rows.append({
            "when": {ids[p]: parent_states[i][k] for i, (p, k) in enumerate(zip(variable.parents, index, strict=True))},
            "p": {s: float(v) for s, v in zip(states[variable.name], row, strict=True)},
        })
    return {"type": "table", "parents": [ids[p] for p in variable.parents], "rows": rows}


def import_network(path: Path, out: Path, pack_id: str | None = None) -> Path:
    """Write a pack directory for the network in ``path``; returns the directory."""
    network = read_network(path)
    source = path.name
    pack_id = pack_id or identifier(source.split(".")[0])
    today = dt.date.today().isoformat()
    provenance = {"status": "experimental", "author": f"rootward import-bif from {source}", "date": today}
    references = [{"title": f"{source}, from the Bayesian network repository (bnlearn)",
                   "url": "https://www.bnlearn.com/bnrepository/"}]
    ids = {name: identifier(name) for name in network.variables}
    if len(set(ids.values())) != len(ids):
        ids = {name: f"{identifier(name)[:58]}_{i}" for i, name in enumerate(network.variables)}
    children = {name: network.children(name) for name in network.variables}

    # causes list their normal (most probable a priori) state first, which ranking treats as "fine"
    order: dict[str, list[int]] = {}
    for name, variable in network.variables.items():
        if not variable.parents:
            order[name] = list(np.argsort(-variable.cpt, kind="stable"))
        else:
            order[name] = list(range(variable.cardinality))
    states = {name: [state_name(network.variables[name].states[i]) for i in order[name]]
              for name in network.variables}

    def reordered(variable: Variable) -> np.ndarray:
        cpt = variable.cpt
        for axis, parent in enumerate(variable.parents):
            cpt = np.take(cpt, order[parent], axis=axis)
        return np.take(cpt, order[variable.name], axis=-1)

    causes, mechanisms, questions = [], [], []
    for name, variable in network.variables.items():
        node_id = ids[name]
        if not variable.parents and not children[name]:
            continue  # an isolated node observes nothing and explains nothing
        common = {"id": node_id, "references": references, "provenance": provenance}
        if not variable.parents:
            prior = reordered(variable)
            causes.append({
                **common,
                "title": {"en": name, "ja": name},
                "description": {"en": f"Root variable {name} of {source}."},
                "category": "imported",
                "states": states[name],
                "distribution": {s: float(p) for s, p in zip(states[name], prior, strict=True)},
                "prior_basis": f"the published prior of {name} in {source}",
                "confirm": {"en": f"Check the state of {name} directly."},
            })
        elif not children[name]:
            questions.append({
                **common,
                "text": {"en": f"What is the state of {name}?", "ja": f"{name} の状態は?"},
                "short": {"en": f"{name}?"},
                "how_to_check": {"en": f"Observe {name} ({', '.join(states[name])})."},
                "answers": states[name],
                "cost_minutes": DEFAULT_COST_MINUTES,
                "asked_by": ["helpdesk"],
                "cpd": _table(variable, ids, states, reordered(variable)),
                "basis": f"the published CPT of {name} in {source}; cost is a generated default",
            })
        else:
            mechanisms.append({
                **common,
                "title": {"en": name},
                "description": {"en": f"Intermediate variable {name} of {source}."},
                "states": states[name],
                "cpd": _table(variable, ids, states, reordered(variable)),
                "basis": f"the published CPT of {name} in {source}",
            })
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "pack.yaml": {
            "id": pack_id, "title": {"en": f"{source} (imported)", "ja": f"{source}(インポート)"},
            "version": "1.0.0", "description": {"en": f"Imported from {source} by rootward import-bif; texts and "
                                                      "costs are generated defaults."},
            "references": references, "provenance": provenance,
        },
        "causes.yaml": {"causes": causes},
        "mechanisms.yaml": {"mechanisms": mechanisms},
        "questions.yaml": {"questions": questions},
    }
    for file, content in files.items():
        (out / file).write_text(yaml.safe_dump(content, sort_keys=False, allow_unicode=True, width=120),
                                encoding="utf-8")
    return out
