"""``rootward serve`` (HTTP API), ``rootward mcp`` (MCP over stdio) and ``rootward keys create|list|revoke``."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from engine.cli.app import Format, FormatOption, app, emit_json, handled
from engine.cli.cases_commands import case_errors, operator

keys_app = typer.Typer(help="API keys: create, list, revoke (only hashes are stored).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


class KeyRole(StrEnum):
    agent = "agent"
    author = "author"
    admin = "admin"


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=32, help="worker processes (state is in the DB)")]
    = 1,
) -> None:
    """Run the HTTP API (OpenAPI at /docs); the database is ROOTWARD_DATABASE_URL, migrated on first use."""
    import uvicorn

    from engine.errors import StoreError
    from engine.records import Records

    try:
        Records.open()  # migrate once here, so workers do not all start by racing for the migration lock
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    uvicorn.run("engine.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info")


@app.command("mcp")
def mcp() -> None:
    """Run the MCP server on stdio (diagnose, next_question, assess_fix, extract_evidence, kb_questions)."""
    from engine.mcp import server

    server().run("stdio")


@keys_app.command("create")
def keys_create(
    role: Annotated[KeyRole, typer.Option("--role", help="agent, author or admin")],
    label: Annotated[str, typer.Option("--label", help="who or what the key is for")] = "",
    fmt: FormatOption = Format.table,
) -> None:
    """Create a key; the secret is printed once, on the last line (only its hash is stored)."""
    from engine.records import Records

    with handled(fmt), case_errors():
        created = Records.open().create_key(role.value, label, operator())
        if fmt is Format.json:
            emit_json({"id": created.id, "role": created.role, "label": created.label, "key": created.key})
        else:
            typer.echo(f"created {created.role} key {created.id}; store the secret now, it is not shown again:",
                       err=True)
            typer.echo(created.key)


@keys_app.command("list")
def keys_list(fmt: FormatOption = Format.table) -> None:
    """List keys: id, role, label, created, revoked."""
    from engine.records import Records

    with handled(fmt), case_errors():
        rows = [{"id": r.id, "role": r.role, "label": r.label, "created": r.created.isoformat(),
                 "revoked": r.revoked.isoformat() if r.revoked else None} for r in Records.open().api_keys()]
        if fmt is Format.json:
            emit_json({"keys": rows})
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("id", "role", "label", "created", "revoked")
        for row in rows:
            table.add_row(*(str(row[k] or "") for k in ("id", "role", "label", "created", "revoked")))
        Console().print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="the key id (see `rootward keys list`)")],
                fmt: FormatOption = Format.table) -> None:
    """Revoke a key: every worker refuses it from its next request on."""
    from engine.records import Records

    with handled(fmt), case_errors():
        record = Records.open().revoke_key(key_id, operator())
        if fmt is Format.json:
            emit_json({"id": record.id, "revoked": record.revoked.isoformat() if record.revoked else None})
        else:
            typer.echo(f"revoked key {record.id}")
