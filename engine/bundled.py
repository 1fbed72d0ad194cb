"""Where the bundled data lives, in a source checkout and in an installed wheel alike.

The source tree keeps the knowledge packs and the data at its top level (``kb/``, ``data/cases``,
``data/samples``, ``data/networks``), where reviewers find them beside the code. A wheel can only
install files inside packages, so pyproject.toml maps those folders into the data-only package
``rootward_data`` (``rootward_data/kb``, ``rootward_data/cases`` ...). Every module that needs one of
them asks here instead of guessing a layout from its own ``__file__``, so a non-editable install
finds its packs wherever it was installed and whatever the working directory.

The store's migrations are not here: they are a package of their own (``engine.store.migrations``)
and travel with the code.

This module imports nothing of ours, so the lowest layers (``engine.kb``, ``engine.store``) may use it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

DATA_PACKAGE = "rootward_data"
"""The installed package that holds the bundled folders, one sub-folder per kind."""

BundledKind = Literal["kb", "cases", "samples", "networks"]

SOURCE_LAYOUT: dict[BundledKind, str] = {
    "kb": "kb",
    "cases": "data/cases",
    "samples": "data/samples",
    "networks": "data/networks",
}
"""Where each kind sits in a source checkout, relative to the folder holding pyproject.toml."""

_CHECKOUT = Path(__file__).resolve().parents[1]


def bundled_dir(kind: BundledKind) -> Path:
    """The folder of one kind of bundled data.

    A source checkout (or an editable install, which runs from one) is recognised by the
    pyproject.toml beside ``engine/`` and wins: its files are the ones being edited. Otherwise the
    folder comes from the installed ``rootward_data`` package. When neither exists, the checkout's
    path is returned anyway, so callers report a missing folder the way they report any missing
    path (``rootward kb list`` shows no packs) rather than failing at import.
    """
    in_checkout = _CHECKOUT / SOURCE_LAYOUT[kind]
    if (_CHECKOUT / "pyproject.toml").is_file() and in_checkout.is_dir():
        return in_checkout
    installed = _installed_dir(kind)
    return installed if installed is not None else in_checkout


def _installed_dir(kind: BundledKind) -> Path | None:
    """``rootward_data/<kind>`` of the installation, if it is a folder on disk.

    Packs are read with pathlib and hashed file by file, so only a real directory will do; a wheel
    installed by pip always gives one. An editable install declares ``rootward_data`` without a
    folder of its own (``NotADirectoryError``): it is served from the checkout before this is asked.
    """
    try:
        located = resources.files(DATA_PACKAGE) / kind
    except (ModuleNotFoundError, NotADirectoryError):
        return None
    return located if isinstance(located, Path) and located.is_dir() else None


def kb_dir() -> Path:
    """The bundled knowledge packs, one folder per pack (``mail_delivery``, ``win95pts``)."""
    return bundled_dir("kb")


def cases_dir() -> Path:
    """The reviewed resolved cases, one folder per pack."""
    return bundled_dir("cases")


def samples_dir() -> Path:
    """Sample artifacts: mail logs, bounces, zone files, tracepath and ping output, the seed's files."""
    return bundled_dir("samples")


def networks_dir() -> Path:
    """The standard networks (gzipped BIF) with their licence note."""
    return bundled_dir("networks")
