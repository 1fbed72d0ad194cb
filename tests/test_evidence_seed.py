"""The seed incident from its artifacts alone: a maillog, the zone file and a tracepath.

No answer is typed: what the files say, turned into evidence by ``to_evidence``, must already put
an MTU cause first. The zone's apex mistake was real too, but it is a second fault, and a zone file
alone cannot tell a mistaken apex record from a deliberate one-machine site.
"""

from __future__ import annotations

from engine.bundled import samples_dir
from engine.evidence import extract, to_evidence
from engine.kb.validate import load_kb
from engine.reason.evidence import build_evidence
from engine.reason.ranking import rank

SEED = samples_dir() / "seed"


def test_seed_artifacts_rank_an_mtu_cause_first() -> None:
    kb = load_kb("mail_delivery")
    found = [f for path in sorted(SEED.iterdir()) for f in extract(path.read_text(encoding="utf-8"), kb)]
    answers, soft = to_evidence(found)
    observed = set(answers) | {s.question for s in soft}
    assert {"data_phase_timeout_logged", "bare_domain_a_points_wrong", "path_mtu_reduced"} <= observed
    ranking = rank(kb, build_evidence(kb, answers, soft=soft))
    assert ranking.causes[0].id in {"mtu_mru_mismatch", "pmtud_blackhole"}
    leaders = {c.id for c in ranking.causes[:3]}
    assert {"mtu_mru_mismatch", "pmtud_blackhole"} <= leaders
