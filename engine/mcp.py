"""``rootward mcp``: the diagnosis tools for LLM agents over the Model Context Protocol (stdio).

Built on the official SDK's ``MCPServer``; the tools call the same ``Service`` as the HTTP API, so
an agent and a chatbot get the same answers. Over stdio, stdout carries protocol messages only:
nothing here prints, and the SDK logs to stderr.

Expected failures (unknown pack, question or answer; contradicting answers) become tool errors whose
text names what would be valid, so the agent can correct its call instead of guessing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from engine.contracts import AssessOut, ExtractOut, NextOut
from engine.errors import ContradictionError, EvidenceError, KbError, UnknownPackError
from engine.service import DiagnoseOut, IntakeOut, Service
from engine.sessions import known_pack

INSTRUCTIONS = (
    "Rootward ranks the root causes of IT problems with a Bayesian network. Call kb_questions to learn a "
    "pack's question ids and allowed answers, then diagnose (or next_question) with the answers you have "
    "as {question_id: answer} (intake proposes answers from the user's own description of the problem, "
    "extract_evidence reads them out of pasted logs); ask the user the "
    "suggested questions and call again. Use assess_fix before "
    "recommending a fix someone proposes. 'unknown' is always an allowed answer and means no evidence."
)


@contextmanager
def tool_errors() -> Iterator[None]:
    """Turn the core's expected failures into tool errors with the valid ids in the message."""
    try:
        yield
    except EvidenceError as exc:
        raise ToolError(f"{exc} {json.dumps(exc.details)}") from exc
    except ContradictionError as exc:
        raise ToolError(f"{exc} {json.dumps({'answers': exc.answers})}") from exc
    except UnknownPackError as exc:
        raise ToolError(str(exc)) from exc
    except KbError as exc:
        raise ToolError(f"knowledge pack cannot be loaded: {exc}") from exc


def server(service: Service | None = None) -> MCPServer:
    """The MCP server with its tools registered on ``service`` (a fresh one by default)."""
    service = service or Service()
    mcp = MCPServer(name="rootward", instructions=INSTRUCTIONS, log_level="WARNING")

    @mcp.tool(structured_output=True)
    def diagnose(kb: str, evidence: dict[str, str] | None = None, tried: dict[str, str] | None = None,
                 lang: Literal["en", "ja"] = "en",
                 role: Literal["helpdesk", "admin", "network"] | None = None,
                 skip: list[str] | None = None,
                 objective: Literal["decision", "all", "leading"] = "decision") -> DiagnoseOut:
        """Rank root causes and suggest the next questions. evidence: {question_id: answer};
        tried: {fix_id: persisted|stopped|unclear}; role: only questions this role can answer;
        skip: question ids the user cannot answer now (never suggested again in this turn);
        objective: score questions by what they tell about the decision (default), all causes or the leading ones.
        enough_evidence false means the ranking is still mostly the priors: say so and keep asking;
        unmodelled_probability is the chance that no cause the pack models is behind the problem."""
        with tool_errors():
            return service.diagnose(known_pack(kb), evidence or {}, tried or {}, role=role, lang=lang,
                                    skip=skip or (), objective=objective)

    @mcp.tool(structured_output=True)
    def next_question(kb: str, evidence: dict[str, str] | None = None, tried: dict[str, str] | None = None,
                      lang: Literal["en", "ja"] = "en",
                      role: Literal["helpdesk", "admin", "network"] | None = None,
                      skip: list[str] | None = None,
                      objective: Literal["decision", "all", "leading"] = "decision") -> NextOut:
        """The most informative questions to ask next (per minute of effort), why, and whether to stop.
        skip: question ids the user cannot answer now;
        objective: the decision (default), all causes or the leading ones.
        enough_evidence and unmodelled_probability are as in diagnose."""
        with tool_errors():
            return service.next(known_pack(kb), evidence or {}, tried or {}, role=role, lang=lang,
                                skip=skip or (), objective=objective)

    @mcp.tool(structured_output=True)
    def assess_fix(kb: str, evidence: dict[str, str] | None = None, tried: dict[str, str] | None = None,
                   fix: str | None = None, text: str | None = None, lang: Literal["en", "ja"] = "en") -> AssessOut:
        """Would a fix resolve the problem given the evidence? Give a fix id, or text such as
        'rebooting the router fixed it last time'; returns probability, reasons, risks and better options."""
        with tool_errors():
            return service.assess(known_pack(kb), evidence or {}, tried or {}, fix=fix, text=text, lang=lang)

    @mcp.tool(structured_output=True)
    def intake(kb: str, text: str, lang: Literal["en", "ja"] = "en") -> IntakeOut:
        """Propose answers from the user's description of the problem in their own words (English or
        Japanese, up to 20,000 characters); each answer quotes the words it came from (`matched`),
        and `unmatched` lists what gave none. Confirm proposed answers with the user before passing
        them to diagnose as evidence."""
        with tool_errors():
            return service.intake(known_pack(kb), text, lang)

    @mcp.tool(structured_output=True)
    def extract_evidence(kb: str, text: str) -> ExtractOut:
        """Read answers out of pasted logs, bounces, zone files or tracepath/ping output; each finding
        quotes its line (e-mail addresses redacted). Pass `answers` on as evidence to diagnose."""
        with tool_errors():
            return service.extract(known_pack(kb), text)

    @mcp.tool(structured_output=True)
    def kb_questions(kb: str, lang: Literal["en", "ja"] = "en") -> dict[str, Any]:
        """A pack's questions (id, staff text, short chatbot phrasing, allowed answers, who can answer),
        causes and fixes. Call this first to learn the ids the other tools accept."""
        with tool_errors():
            return service.describe(known_pack(kb), lang)

    return mcp
