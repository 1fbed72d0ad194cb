"""Hostile and broken input at every door of the CLI: a clear error, bounded memory, never a traceback.

Each command runs in a child process under an address-space cap, so "bounded memory" is a fact the
kernel enforces, not an estimate: a YAML bomb that expanded would die of MemoryError, and show it.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.kb.loader import BUNDLED_KB_DIR

ROOT = Path(__file__).resolve().parents[1]
ADDRESS_SPACE_CAP = 3 * 1024**3
"""What a CLI command may map at most here; numpy and pgmpy alone map about 1 GB of address space."""

YAML_BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]" for p, n in zip("abcdefgh", "bcdefghi", strict=True)]
) + "\n"


def capped_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_CAP, ADDRESS_SPACE_CAP))

    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True,
                          timeout=600, preexec_fn=cap, cwd=cwd)


def assert_clear_error(result: subprocess.CompletedProcess[str], *words: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode in (1, 2), output
    assert "Traceback" not in output and "MemoryError" not in output, output
    for word in words:
        assert word in output, output
    return output


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    target = tmp_path / "copy-of-the-mail-pack"
    shutil.copytree(BUNDLED_KB_DIR / "mail_delivery", target)
    return target


def test_a_yaml_bomb_in_a_pack_is_refused_quickly(pack_copy: Path) -> None:
    (pack_copy / "pack.yaml").write_text(YAML_BOMB, encoding="utf-8")
    assert_clear_error(capped_cli("validate", str(pack_copy)), "pack.yaml", "aliases")


def test_a_yaml_bomb_in_a_case_file_is_refused(tmp_path: Path) -> None:
    case = tmp_path / "bomb.yaml"
    case.write_text(YAML_BOMB, encoding="utf-8")
    result = capped_cli("cases", "add", str(case), "--kb", "mail_delivery", "--format", "json")
    assert_clear_error(result, "bomb.yaml", "aliases")
    assert "added" not in json.loads(result.stdout)


def test_a_number_of_5001_digits_in_a_pack_names_its_line(pack_copy: Path) -> None:
    causes = pack_copy / "causes.yaml"
    text = causes.read_text(encoding="utf-8")
    first_prior = next(line for line in text.splitlines() if line.strip().startswith("prior:"))
    causes.write_text(text.replace(first_prior, first_prior.split(":")[0] + ": " + "7" * 5001, 1), encoding="utf-8")
    line = text.splitlines().index(first_prior) + 1
    assert_clear_error(capped_cli("validate", str(pack_copy)), f"causes.yaml:{line}", "digits")


@pytest.mark.parametrize("value", ["inf", "nan", "1e999"])
def test_an_infinite_or_undefined_number_in_a_pack_is_an_error(pack_copy: Path, value: str) -> None:
    fixes = pack_copy / "fixes.yaml"
    text = fixes.read_text(encoding="utf-8")
    first_cost = next(line for line in text.splitlines() if line.strip().startswith("cost_minutes:"))
    fixes.write_text(text.replace(first_cost, first_cost.split(":")[0] + ": ." + value if value != "1e999"
                                  else first_cost.split(":")[0] + ": 1e999", 1), encoding="utf-8")
    assert_clear_error(capped_cli("validate", str(pack_copy)), "fixes.yaml")


@pytest.mark.parametrize("path", ["/dev/zero", "DIRECTORY"])
def test_an_evidence_file_must_be_a_regular_file(tmp_path: Path, path: str) -> None:
    target = str(tmp_path) if path == "DIRECTORY" else path
    result = capped_cli("rank", "--kb", "mail_delivery", "--evidence-file", target, "--format", "json")
    assert_clear_error(result)
    assert json.loads(result.stdout)["error"]["type"] == "not_a_file"


def test_an_oversized_evidence_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "answers.json"
    with big.open("wb") as handle:
        handle.truncate(2 * 1024 * 1024 * 1024)  # sparse: 2 GiB that costs no disk
    result = capped_cli("rank", "--kb", "mail_delivery", "--evidence-file", str(big), "--format", "json")
    assert_clear_error(result)
    assert json.loads(result.stdout)["error"]["type"] == "file_too_large"


def test_an_artifact_must_be_a_regular_file() -> None:
    result = capped_cli("extract", "--kb", "mail_delivery", "/dev/zero", "--format", "json")
    assert_clear_error(result)
    assert json.loads(result.stdout)["error"]["type"] == "not_a_file"


def test_text_that_is_not_unicode_on_the_command_line_is_a_clear_error() -> None:
    result = subprocess.run([sys.executable.encode(), b"-m", b"engine.cli", b"rank", b"--kb", b"mail_delivery",
                             b"-e", b"attachment_mail_fails=\xff\xfe"], capture_output=True, cwd=ROOT, timeout=300)
    output = (result.stdout + result.stderr).decode("utf-8", "replace")
    assert result.returncode == 1 and "Traceback" not in output
    assert "attachment_mail_fails" in output and "valid answers" in output


@pytest.mark.parametrize(("args", "option"), [
    (["evaluate", "--kb", "mail_delivery", "--folds", "1000"], "--folds"),
    (["next", "--kb", "mail_delivery", "--exchange-rate", "inf"], "--exchange-rate"),
    (["next", "--kb", "mail_delivery", "--stop-probability", "nan"], "--stop-probability"),
    (["simulate", "--kb", "mail_delivery", "--runs", "100000000"], "--runs"),
    (["next", "--kb", "mail_delivery", "--limit", "0"], "--limit"),
])
def test_options_out_of_range_are_refused_with_the_option_named(args: list[str], option: str) -> None:
    assert_clear_error(capped_cli(*args), option)


def test_an_error_message_is_one_line_whatever_the_path_length(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["a-rather-long-directory-name"] * 6)
    deep.mkdir(parents=True)
    missing = deep / "answers.json"
    result = subprocess.run([sys.executable, "-m", "engine.cli", "rank", "--kb", "mail_delivery", "--evidence-file",
                             str(missing)], capture_output=True, text=True, timeout=300, cwd=ROOT,
                            env={**os.environ, "COLUMNS": "40"})
    first = result.stderr.splitlines()[0]
    assert first == f"error: {missing}: no such file", result.stderr
