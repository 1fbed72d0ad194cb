"""The code stays ruff- and mypy-clean: part of the test command, so CI enforces it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=900)


def test_ruff_is_clean() -> None:
    result = run("ruff", "check", "engine", "ui", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_the_reasoning_path_stays_light() -> None:
    """rank and next must not pay for pgmpy, networkx, pandas, SQLAlchemy or the learning code at start-up.

    ``engine.cli`` is what the ``rootward`` entry point imports: every command module, not only rank's.
    """
    probe = (
        "import sys, engine.cli, engine.reason.ranking, engine.reason.questions, engine.reason.fixes;"
        "heavy = [m for m in ('pgmpy', 'networkx', 'pandas', 'sqlalchemy', 'torch', 'ruamel.yaml',"
        " 'engine.case_schema', 'engine.learn.cases', 'engine.learn.em', 'engine.store') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
