"""The ``rootward`` command line: a first-class face over the same core as the UI and API.

Every command turns expected failures (bad packs, bad evidence, contradictions) into one clear
message and an exit code, never a traceback; with ``--format json`` stdout holds exactly one JSON
document and everything else goes to stderr.
"""

from __future__ import annotations

from engine.cli import (
    cases_commands,
    extract_commands,
    intake_commands,
    kb_commands,
    learn_commands,
    serve_commands,
    simulate_commands,
    ui_commands,
)
from engine.cli.app import app

COMMAND_MODULES = (
    kb_commands,
    cases_commands,
    learn_commands,
    serve_commands,
    ui_commands,
    extract_commands,
    simulate_commands,
    intake_commands,
)


def main() -> None:
    app()


__all__ = ["COMMAND_MODULES", "app", "main"]
