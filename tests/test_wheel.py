"""A real install: the wheel carries the packs, cases, samples, networks and migrations, and runs alone.

An editable install runs from the checkout, so it cannot show that the bundled data made it into the
wheel. The slow test builds the wheel from a copy of the source tree, installs it into a fresh venv
outside the checkout and runs the console script from a third directory; the runtime dependencies come
from the test interpreter's site-packages through a ``.pth`` file, so nothing is downloaded except
what the build backend needs from the package index this machine already uses.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import site
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from engine import bundled
from engine.learn.cases import case_files

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
RANK_ARGS = ["rank", "--kb", "mail_delivery", "-e", "attachment_mail_fails=yes", "--format", "json"]
NOT_SOURCE_AT_TOP = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", ".*_cache", ".hypothesis",
                                           "artifacts")
"""What a build never reads: a stale ``build/`` in particular would smuggle deleted files into the wheel."""


def not_source(directory: str, names: list[str]) -> set[str]:
    """``shutil.copytree``'s ignore: the checkout's own clutter at the top, bytecode caches anywhere."""
    ignored = NOT_SOURCE_AT_TOP(directory, names) if Path(directory) == ROOT else set()
    return ignored | ({"__pycache__"} & set(names))


def files_under(directory: Path) -> dict[str, str]:
    """Relative path → SHA-256 of every file below ``directory``, bytecode caches left out."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def test_pyproject_lists_every_package_and_maps_every_bundled_folder() -> None:
    """The package list is explicit (mapped packages rule out ``packages.find``): a new one must be added."""
    on_disk = {".".join(init.parent.relative_to(ROOT).parts)
               for top in ("engine", "ui") for init in (ROOT / top).rglob("__init__.py")}
    listed = set(PYPROJECT["packages"])
    assert on_disk - listed == set(), "add these packages to [tool.setuptools] packages in pyproject.toml"
    mapped = {name.removeprefix(f"{bundled.DATA_PACKAGE}."): folder
              for name, folder in PYPROJECT["package-dir"].items()}
    assert mapped == bundled.SOURCE_LAYOUT
    assert {f"{bundled.DATA_PACKAGE}.{kind}" for kind in bundled.SOURCE_LAYOUT} <= listed


def test_checkout_locates_its_own_folders() -> None:
    for kind, folder in bundled.SOURCE_LAYOUT.items():
        assert bundled.bundled_dir(kind) == ROOT / folder


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow
def test_wheel_installed_outside_the_checkout_ranks_on_its_bundled_pack(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(ROOTWARD_CACHE_DIR=str(tmp_path / "cache"),
               ROOTWARD_DATABASE_URL=f"sqlite:///{tmp_path / 'rootward.db'}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=not_source)
    run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(tmp_path / "dist")],
        elsewhere, env)
    (wheel,) = (tmp_path / "dist").glob("rootward-*.whl")

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], elsewhere, env)
    python = venv / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        elsewhere, env)
    purelib = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                       elsewhere, env).stdout.strip())
    # Appended after the venv's own site-packages, so the installed rootward shadows the checkout's.
    (purelib / "runtime-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")

    probe = ("import json, engine, engine.store.db as db, engine.bundled as b; print(json.dumps("
             "{'engine': engine.__file__, 'migrations': str(db.MIGRATIONS_DIR),"
             " **{kind: str(b.bundled_dir(kind)) for kind in b.SOURCE_LAYOUT}}))")
    located = {name: Path(path) for name, path in json.loads(run([str(python), "-c", probe], elsewhere, env).stdout)
               .items()}
    for name, path in located.items():
        assert path.resolve().is_relative_to(purelib.resolve()), f"{name} runs from {path}, not from the wheel"
    for kind, folder in bundled.SOURCE_LAYOUT.items():
        assert files_under(located[kind]) == files_under(ROOT / folder), f"the wheel's {kind} differs from {folder}/"
    assert files_under(located["migrations"]) == files_under(ROOT / "engine" / "store" / "migrations")

    rootward = str(venv / "bin" / "rootward")
    listed = json.loads(run([rootward, "kb", "list", "--format", "json"], elsewhere, env).stdout)
    packs = {pack["id"] for pack in listed["packs"]}
    assert {"mail_delivery", "win95pts"} <= packs

    installed = json.loads(run([rootward, *RANK_ARGS], elsewhere, env).stdout)
    checkout = json.loads(run([sys.executable, "-m", "engine.cli", *RANK_ARGS], ROOT, dict(os.environ)).stdout)
    assert installed["kb"]["id"] == "mail_delivery" and installed["causes"]
    assert installed["kb"] == checkout["kb"]
    assert [c["id"] for c in installed["causes"]] == [c["id"] for c in checkout["causes"]]
    for ours, theirs in zip(installed["causes"], checkout["causes"], strict=True):
        assert ours["probability"] == pytest.approx(theirs["probability"], abs=1e-12)

    # The bundled cases through a store migrated by the installed migrations.
    imported = json.loads(run([rootward, "cases", "import", "--kb", "mail_delivery", "--format", "json"],
                              elsewhere, env).stdout)
    assert Path(imported["directory"]).resolve().is_relative_to(purelib.resolve())
    assert imported["inserted"] == len(case_files(ROOT / "data" / "cases" / "mail_delivery")) > 0
