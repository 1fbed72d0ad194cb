"""Broken packs: each gives a specific message with file and line, exit 1, and no traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

MINIMAL = Path(__file__).parent / "packs" / "minimal"


def run_validate(pack: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", "validate", str(pack), *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


def edit(name: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(pack: Path) -> None:
        path = pack / name
        text = path.read_text(encoding="utf-8")
        assert old in text, f"test setup: {old!r} not in {name}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return apply


def write(name: str, data: bytes) -> Callable[[Path], None]:
    def apply(pack: Path) -> None:
        (pack / name).write_bytes(data)

    return apply


def remove(name: str) -> Callable[[Path], None]:
    def apply(pack: Path) -> None:
        (pack / name).unlink()

    return apply


def cycle(pack: Path) -> None:
    edit("mechanisms.yaml", "parents: [mtu_mismatch, icmp_blocked]", "parents: [mtu_mismatch, problem]")(pack)


def unobservable_cause(pack: Path) -> None:
    edit("causes.yaml", "causes:\n", """causes:
  - id: orphan_cause
    title: {en: Orphan, ja: 孤立}
    description: {en: Nothing observes it.}
    category: network
    prior: 0.1
    prior_basis: "test value: round number"
    confirm: {en: nothing}
    references: [{title: "RFC 1191", url: "https://www.rfc-editor.org/rfc/rfc1191"}]
    provenance: {status: experimental, author: Rootward tests, date: 2026-11-28}
""")(pack)


def refines(cause_prior: str, target: str) -> Callable[[Path], None]:
    """Give the cause whose prior line is ``cause_prior`` a ``refines: target``."""
    return edit("causes.yaml", f"    prior: {cause_prior}\n", f"    prior: {cause_prior}\n    refines: {target}\n")


def refines_cycle(pack: Path) -> None:
    refines("0.1", "icmp_blocked")(pack)
    refines("0.2", "mtu_mismatch")(pack)


def note(causes: str) -> Callable[[Path], None]:
    return edit("pack.yaml", "provenance:", f"identifiability_notes:\n  - causes: {causes}\n"
                "    note: \"both need the same fix, so no question is worth asking\"\nprovenance:")


# (name, mutation, file expected in the message, line expected, words expected in the message)
BROKEN: list[tuple[str, Callable[[Path], None], str, int | None, str]] = [
    ("cycle", cycle, "mechanisms.yaml", 12, "cycle"),
    ("dangling reference", edit("questions.yaml", "parents: {size_limit: 0.9}, leak: 0.02",
                                "parents: {size_limitt: 0.9}, leak: 0.02"), "questions.yaml", 18, "size_limitt"),
    ("row not summing to 1", edit("questions.yaml", "p: {yes: 0.1, no: 0.9}", "p: {yes: 0.1, no: 0.8}"),
     "questions.yaml", 42, "sum to 0.9"),
    ("duplicate id", edit("causes.yaml", "id: icmp_blocked", "id: mtu_mismatch"), "causes.yaml", 11, "duplicate id"),
    ("duplicate YAML key", edit("causes.yaml", "    prior: 0.2\n", "    prior: 0.2\n    prior: 0.3\n"),
     "causes.yaml", 16, "duplicate key"),
    ("YAML syntax error", edit("fixes.yaml", "    cost_minutes: 20\n", "    cost_minutes: [20\n"),
     "fixes.yaml", None, "fixes.yaml"),
    ("unknown field", edit("causes.yaml", "    prior: 0.15\n", "    prior: 0.15\n    priority: high\n"),
     "causes.yaml", 25, "unknown field 'priority'"),
    ("wrong type", edit("questions.yaml", "cost_minutes: 10", "cost_minutes: ten"), "questions.yaml", 26,
     "cost_minutes"),
    ("cause no question observes", unobservable_cause, "causes.yaml", 2, "reaches no question"),
    ("empty file", write("questions.yaml", b""), "questions.yaml", None, "empty"),
    ("missing file", remove("causes.yaml"), "causes.yaml", None, "missing"),
    ("refines an unknown cause", refines("0.1", "no_such_cause"), "causes.yaml", 7, "unknown cause 'no_such_cause'"),
    ("refines a mechanism", refines("0.1", "large_packets_lost"), "causes.yaml", 7,
     "unknown cause 'large_packets_lost'"),
    ("refines itself", refines("0.1", "mtu_mismatch"), "causes.yaml", 7, "refines itself"),
    ("refines in a cycle", refines_cycle, "causes.yaml", 7,
     "cycle: mtu_mismatch → icmp_blocked → mtu_mismatch"),
    ("identifiability note on an unknown cause", note("[mtu_mismatch, no_such_cause]"), "pack.yaml", 9,
     "unknown cause(s) ['no_such_cause']"),
    ("identifiability note on one cause twice", note("[mtu_mismatch, mtu_mismatch]"), "pack.yaml", 9,
     "two different causes"),
    ("binary file", write("causes.yaml", b"causes:\n  - \xff\xfe\x00\x01binary"), "causes.yaml", 2, "UTF-8"),
]


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    shutil.copytree(MINIMAL, target)
    return target


def test_minimal_pack_is_valid(pack: Path) -> None:
    result = run_validate(pack)
    assert result.returncode == 0, result.stderr
    assert "0 error(s)" in result.stderr


@pytest.mark.parametrize(("name", "mutate", "file", "line", "words"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_pack_is_reported_precisely(
    pack: Path, name: str, mutate: Callable[[Path], None], file: str, line: int | None, words: str
) -> None:
    mutate(pack)
    result = run_validate(pack)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    assert words in output
    assert file in output
    if line is not None:
        assert f"{file}:{line}" in output, output
    else:
        assert f"{file}" in output

    as_json = run_validate(pack, "--format", "json")
    assert as_json.returncode == 1
    document = json.loads(as_json.stdout)
    errors = [p for p in document["problems"] if p["severity"] == "error"]
    assert errors and all(p["hint"] for p in errors)
    assert any(p["file"] == file for p in errors)


def test_unknown_pack_name_is_an_error_not_a_traceback() -> None:
    result = run_validate(Path("no_such_pack_anywhere"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "no such knowledge pack" in result.stderr


def test_a_bare_bundled_name_is_never_shadowed_by_a_local_folder(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Which pack a diagnosis uses must not depend on the directory the command starts in."""
    from engine.kb.loader import BUNDLED_KB_DIR, resolve_pack_dir

    shutil.copytree(MINIMAL, tmp_path / "mail_delivery")
    monkeypatch.chdir(tmp_path)
    assert resolve_pack_dir("mail_delivery") == BUNDLED_KB_DIR / "mail_delivery"
    assert resolve_pack_dir("./mail_delivery") == Path("./mail_delivery")  # a path stays a path
    assert resolve_pack_dir(tmp_path / "mail_delivery") == tmp_path / "mail_delivery"


def twin_of_size_limit(pack: Path) -> None:
    """A second cause wired exactly like size_limit: no question can tell the two apart."""
    edit("causes.yaml", "causes:\n", """causes:
  - id: size_limit_twin
    title: {en: Size limit twin, ja: サイズ制限の双子}
    description: {en: Wired exactly like size_limit.}
    category: mail_server
    prior: 0.15
    prior_basis: "test value: round number, no claim about the world"
    confirm: {en: "postconf message_size_limit"}
    references: [{title: "postconf(5)", url: "https://www.postfix.org/postconf.5.html#message_size_limit"}]
    provenance: {status: experimental, author: Rootward tests, date: 2026-11-28}
""")(pack)
    edit("mechanisms.yaml", "size_limit: 0.9}", "size_limit: 0.9, size_limit_twin: 0.9}")(pack)
    edit("questions.yaml", "size_limit: 0.9}", "size_limit: 0.9, size_limit_twin: 0.9}")(pack)
    edit("questions.yaml", "parents: {size_limit: 0.9}", "parents: {size_limit: 0.9, size_limit_twin: 0.9}")(pack)


def warnings_of(result: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    return [p for p in json.loads(result.stdout)["problems"] if p["severity"] == "warning"]


def test_a_look_alike_pair_is_a_warning_until_the_pack_explains_it(pack: Path) -> None:
    twin_of_size_limit(pack)
    flagged = run_validate(pack, "--format", "json")
    assert flagged.returncode == 0, flagged.stdout
    assert any("size_limit_twin" in str(w["message"]) and "identifiability_notes" in str(w["hint"])
               for w in warnings_of(flagged))

    note("[size_limit_twin, size_limit]")(pack)
    explained = run_validate(pack, "--format", "json")
    assert explained.returncode == 0, explained.stdout
    assert warnings_of(explained) == []


def test_a_note_on_a_pair_that_questions_separate_is_reported_stale(pack: Path) -> None:
    note("[mtu_mismatch, size_limit]")(pack)
    result = run_validate(pack, "--format", "json")
    assert result.returncode == 0
    stale = warnings_of(result)
    assert len(stale) == 1 and "stale" in str(stale[0]["message"]) and stale[0]["file"] == "pack.yaml"


def test_rank_json_gives_refines_and_null_when_absent(pack: Path) -> None:
    refines("0.2", "mtu_mismatch")(pack)
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "rank", "--kb", str(pack), "-e", "big_mail_fails=yes",
         "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    by_id = {c["id"]: c for c in json.loads(result.stdout)["causes"]}
    assert by_id["icmp_blocked"]["refines"] == "mtu_mismatch"
    assert by_id["mtu_mismatch"]["refines"] is None and by_id["size_limit"]["refines"] is None


def test_a_remembered_content_hash_follows_every_edit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hash of an unchanged pack is remembered, and any write to one of its files (same size,
    even with its modification time set back) or a new file makes it hashed afresh."""
    import os
    import time

    from engine.kb import loader

    pack = tmp_path / "pack"
    shutil.copytree(loader.BUNDLED_KB_DIR / "mail_delivery", pack)
    later = time.time_ns() + 10**10  # every file looks settled
    monkeypatch.setattr(loader.time, "time_ns", lambda: later)
    first = loader.content_hash(pack)
    assert pack.resolve() in loader._hash_memo and loader.content_hash(pack) == first
    causes = pack / "causes.yaml"
    before = causes.stat()
    time.sleep(0.05)  # past the file system's clock tick
    text = causes.read_text(encoding="utf-8")
    causes.write_text(text[:-1] + ("#" if text[-1] != "#" else "\n"), encoding="utf-8")  # same size
    os.utime(causes, ns=(before.st_atime_ns, before.st_mtime_ns))
    edited = loader.content_hash(pack)
    assert edited != first and causes.stat().st_size == before.st_size
    time.sleep(0.05)
    (pack / "learned.yaml").write_text("{}\n", encoding="utf-8")
    assert loader.content_hash(pack) not in (first, edited)
