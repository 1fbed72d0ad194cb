"""``rootward ui``: the Streamlit app on loopback, headless, with the bundled pack and default database.

The command replaces itself with ``streamlit run`` (``exec``) rather than supervising a child, so
the process a user or test starts is the server itself: Ctrl-C and SIGTERM reach Streamlit directly
and no orphan is left behind.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Annotated

import typer

from engine.cli.app import CliError, Format, app, handled

DEFAULT_PORT = 8501


def app_script() -> Path:
    """``ui/app.py`` of the installed ``ui`` package (source tree or wheel alike)."""
    spec = find_spec("ui")
    if spec is None or spec.origin is None:
        raise CliError("not_installed", "the 'ui' package is not installed; reinstall rootward")
    return Path(spec.origin).parent / "app.py"


def streamlit_command(script: Path, host: str, port: int) -> list[str]:
    """Headless settings: no browser launch, no usage statistics, no file watcher, no dev menu."""
    return [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.headless=true",
        f"--server.address={host}",
        f"--server.port={port}",
        "--server.fileWatcherType=none",
        "--server.runOnSave=false",
        "--server.maxUploadSize=2",  # MB: case files are a few KiB; parse_case refuses more than 1 MiB anyway
        "--browser.gatherUsageStats=false",
        "--global.developmentMode=false",
        "--client.toolbarMode=minimal",
        "--theme.base=light",
        "--theme.primaryColor=#2563eb",
    ]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command("ui")
def ui(
    host: Annotated[str, typer.Option("--host", help="address to listen on; loopback unless behind a proxy")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port")] = DEFAULT_PORT,
    kb_name: Annotated[str, typer.Option("--kb", help="the bundled pack selected when the UI opens")]
    = "mail_delivery",
) -> None:
    """Open the web UI: Diagnose and Check a fix; author pages unlock with ROOTWARD_AUTHOR_TOKEN."""
    from sqlalchemy.engine import make_url

    from engine.service import Service
    from engine.settings import get_settings

    with handled(Format.table):
        packs = Service.pack_names()
        if kb_name not in packs:
            raise CliError("not_found", f"no bundled pack '{kb_name}'", {"valid": ", ".join(packs)})
        if find_spec("streamlit") is None:
            raise CliError("not_installed", "streamlit is not installed; `pip install rootward` installs it")
        script = app_script()
        database = make_url(get_settings().database_url).render_as_string(hide_password=True)
    if not _is_loopback(host):
        typer.echo(f"warning: listening on {host}: the UI has no TLS, so the author token crosses the network "
                   "in clear; put it behind an HTTPS proxy", err=True)
    typer.echo(f"Rootward UI on http://{host}:{port}  (pack {kb_name}, database {database})", err=True)
    env = dict(os.environ, ROOTWARD_UI_PACK=kb_name)
    root = str(script.parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe(sys.executable, streamlit_command(script, host, port), env)
