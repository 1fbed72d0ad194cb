"""The MCP server through the SDK's own client: spawned as ``python -m engine.cli mcp`` over stdio."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

from engine.service import Service

ROOT = Path(__file__).resolve().parents[1]
PACK = "mail_delivery"


async def _session_calls(calls: list[tuple[str, dict[str, Any]]]) -> tuple[list[str], list[Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOTWARD_")}
    params = StdioServerParameters(command=sys.executable, args=["-m", "engine.cli", "mcp"], cwd=str(ROOT), env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = [t.name for t in (await session.list_tools()).tools]
        results = [await session.call_tool(name, arguments, read_timeout_seconds=180) for name, arguments in calls]
    return tools, results


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_tools_answer_through_the_sdk_client() -> None:
    evidence = {"attachment_mail_fails": "yes", "single_sender_affected": "yes", "path_mtu_reduced": "yes"}
    tools, results = anyio.run(_session_calls, [
        ("kb_questions", {"kb": PACK}),
        ("diagnose", {"kb": PACK, "evidence": evidence}),
        ("next_question", {"kb": PACK, "evidence": evidence, "role": "helpdesk"}),
        ("assess_fix", {"kb": PACK, "evidence": evidence, "fix": "restart_postfix"}),
        ("diagnose", {"kb": PACK, "evidence": {"nope": "yes"}}),
        ("diagnose", {"kb": "nope"}),
        ("extract_evidence", {"kb": PACK, "text": "Nov 21 10:14:03 mx1 postfix/smtpd[4102]: NOQUEUE: reject: RCPT from "
                              "x[203.0.113.25]: 552 5.3.4 Message size exceeds fixed limit; from=<a@b.example>\n"}),
    ])
    assert set(tools) >= {"diagnose", "next_question", "assess_fix", "kb_questions", "extract_evidence"}
    described, diagnosed, asked, assessed, bad_question, bad_pack, extracted = results
    assert not described.is_error
    assert any(q["id"] == "attachment_mail_fails" and q["short"] for q in described.structured_content["questions"])
    assert not diagnosed.is_error and diagnosed.structured_content["causes"][0]["probability"] > 0
    served = Service().rank(PACK, evidence)
    for field in ("unmodelled_probability", "enough_evidence"):
        assert diagnosed.structured_content[field] == asked.structured_content[field] == getattr(served, field)
    assert not asked.is_error and all(q["id"] not in evidence for q in asked.structured_content["questions"])
    assert not assessed.is_error and assessed.structured_content["fix"]["id"] == "restart_postfix"
    assert bad_question.is_error and "attachment_mail_fails" in bad_question.content[0].text
    assert bad_pack.is_error and PACK in bad_pack.content[0].text
    assert extracted.structured_content["answers"] == {"size_rejection_bounce": "yes"}
    assert "a@b.example" not in json.dumps(extracted.structured_content)
    json.loads(json.dumps(diagnosed.structured_content))  # structured output is plain JSON


@pytest.mark.timeout(180)
def test_stdout_carries_only_protocol_messages() -> None:
    """Raw stdio: every line the server writes is a JSON-RPC message (logs go to stderr)."""
    import subprocess

    from mcp.types import LATEST_PROTOCOL_VERSION

    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOTWARD_")}
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": LATEST_PROTOCOL_VERSION, "capabilities": {},
                    "clientInfo": {"name": "test", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "kb_questions", "arguments": {"kb": PACK}}},
    ]
    server = subprocess.Popen([sys.executable, "-m", "engine.cli", "mcp"], cwd=ROOT, env=env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert server.stdin is not None and server.stdout is not None
    try:
        server.stdin.write("".join(json.dumps(r) + "\n" for r in requests))
        server.stdin.flush()
        messages = []
        while not messages or messages[-1].get("id") != 2:  # stdin stays open until the call is answered
            line = server.stdout.readline()
            assert line, "the server closed stdout before answering"
            messages.append(json.loads(line))
        server.stdin.close()
        assert server.wait(timeout=30) == 0
        assert server.stdout.read().strip() == ""
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert [m.get("id") for m in messages] == [1, 2] and all(m["jsonrpc"] == "2.0" for m in messages)
    assert "attachment_mail_fails" in json.dumps(messages[1]["result"])
