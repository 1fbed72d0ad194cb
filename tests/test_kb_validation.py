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
