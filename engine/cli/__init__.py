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
    """Run the CLI; usage errors (an unknown option, a value out of range) come out as one plain line.

    Click's own rendering draws them in a box wrapped to the terminal's width, which splits paths
    and ids across lines; with ``--format json`` they become the same error document as any other.
    """
    import itertools
    import sys

    import typer

    from engine.cli.app import Format, report_error

    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        sys.exit(130)
    except typer.TyperException as exc:  # click's usage errors, as Typer re-exports them
        argv = sys.argv[1:]
        wants_json = any(a in ("--format=json", "-fjson") for a in argv) or any(
            a in ("--format", "-f") and b == "json" for a, b in itertools.pairwise(argv))
        render = getattr(exc, "format_message", None)
        message = render() if callable(render) else str(exc)
        context = getattr(exc, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context is not None else ""
        if message:  # empty when the help was shown for a bare command
            report_error(Format.json if wants_json else Format.table, "usage", message + hint)
        sys.exit(int(getattr(exc, "exit_code", 2)))
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["COMMAND_MODULES", "app", "main"]
