"""The HTTP API in process (ASGI), on a SQLite file: auth and roles, limits, problem+json, flows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine.api import create_app
from engine.api.settings import ApiSettings
from engine.sessions import SessionService
from engine.store import AuditRepository, KeyRepository, open_store

PACK = "mail_delivery"
ROLES = ("agent", "author", "admin")
# (method, path, json body, lowest role allowed); one row per endpoint, grouped by role.
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("POST", "/v1/diagnose", {"kb": PACK}, "agent"),
    ("POST", "/v1/fixes/assess", {"kb": PACK, "fix": "restart_postfix"}, "agent"),
    ("GET", "/v1/kbs", None, "agent"),
    ("GET", f"/v1/kbs/{PACK}", None, "agent"),
    ("POST", "/v1/sessions", {"kb": PACK}, "agent"),
    ("GET", "/v1/sessions/abc", None, "agent"),
    ("POST", "/v1/sessions/abc/answers", {"question": "attachment_mail_fails", "answer": "yes"}, "agent"),
    ("DELETE", "/v1/sessions/abc/answers/attachment_mail_fails", None, "agent"),
    ("POST", "/v1/sessions/abc/undo", None, "agent"),
    ("POST", "/v1/sessions/abc/skipped", {"question": "attachment_mail_fails"}, "agent"),
    ("DELETE", "/v1/sessions/abc/skipped/attachment_mail_fails", None, "agent"),
    ("DELETE", "/v1/sessions/abc/skipped", None, "agent"),
    ("GET", "/v1/sessions/abc/next", None, "agent"),
    ("GET", "/v1/sessions/abc/ranking", None, "agent"),
    ("POST", "/v1/sessions/abc/fix-attempts", {"fix": "restart_postfix", "outcome": "persisted"}, "agent"),
    ("POST", "/v1/sessions/abc/assess", {"fix": "restart_postfix"}, "agent"),
    ("POST", "/v1/sessions/abc/evidence", {"text": "x"}, "agent"),
    ("POST", "/v1/evidence/extract", {"kb": PACK, "text": "x"}, "agent"),
    ("POST", "/v1/intake", {"kb": PACK, "text": "x"}, "agent"),
    ("POST", "/v1/sessions/abc/resolve", {"confirmed_causes": ["mtu_mru_mismatch"]}, "agent"),
    ("GET", "/v1/sessions/abc/report", None, "agent"),
    ("GET", f"/v1/kbs/{PACK}/quality", None, "author"),
    ("GET", "/v1/cases", None, "author"),
    ("GET", "/v1/cases/x", None, "author"),
    ("POST", "/v1/cases/x/review", {"status": "reviewed"}, "author"),
    ("GET", "/v1/keys", None, "admin"),
    ("POST", "/v1/keys", {"role": "agent"}, "admin"),
    ("DELETE", "/v1/keys/abc", None, "admin"),
]


@pytest.fixture
def keys(sqlite_url: str) -> dict[str, str]:
    with open_store(sqlite_url).transaction() as session:
        return {role: KeyRepository(session).create(role, f"test {role}")[1] for role in ROLES}


@pytest.fixture
def client(sqlite_url: str, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(ApiSettings(rate_limit_per_minute=0), sqlite_url)) as test_client:
        yield test_client


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"].startswith("urn:rootward:problem:") and body["detail"]
    return body


def test_health_needs_no_key_and_reveals_nothing_without_one(client: TestClient, keys: dict[str, str],
                                                              sqlite_url: str) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}
    detailed = client.get("/readyz", headers=auth(keys["agent"])).json()
    assert detailed["database_kind"] == "sqlite" and PACK in detailed["kbs"]
    assert_problem(client.get("/readyz", headers=auth("rw_nope_wrong")), 401)


def test_database_passwords_are_hidden_anywhere_in_the_url() -> None:
    from engine.store.db import redact

    for url in ("postgresql+psycopg://rw:s3cret@127.0.0.1:5432/rw?password=s3cret&sslmode=require",
                "postgresql+psycopg://127.0.0.1/rw?PASSWORD=s3cret", "not a url://u:s3cret@x?token=s3cret"):
        assert "s3cret" not in redact(url), url
    assert "sslmode=require" in redact("postgresql+psycopg://rw:s3cret@127.0.0.1/rw?sslmode=require")


def test_not_ready_says_so_without_details(tmp_path: Any) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("x", encoding="utf-8")
    url = f"sqlite:///{blocked}/db.sqlite?password=s3cret"
    with TestClient(create_app(ApiSettings(rate_limit_per_minute=0), url)) as broken:
        body = assert_problem(broken.get("/readyz"), 503)
    assert "s3cret" not in str(body) and "not-a-directory" not in str(body)


@pytest.mark.parametrize(("method", "path", "body", "role"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
def test_missing_or_wrong_key_is_401_and_a_lower_role_is_403(client: TestClient, keys: dict[str, str], method: str,
                                                             path: str, body: dict[str, Any] | None,
                                                             role: str) -> None:
    assert_problem(client.request(method, path, json=body), 401)
    assert_problem(client.request(method, path, json=body, headers=auth("rw_nope_wrong")), 401)
    assert_problem(client.request(method, path, json=body, headers={"Authorization": f"Basic {keys['admin']}"}),
                   401)
    for lower in ROLES[: ROLES.index(role)]:
        forbidden = assert_problem(client.request(method, path, json=body, headers=auth(keys[lower])), 403)
        assert forbidden["details"]["allowed_roles"] == list(ROLES[ROLES.index(role):])


def test_revoked_key_is_401(client: TestClient, keys: dict[str, str], sqlite_url: str) -> None:
    created = client.post("/v1/keys", json={"role": "agent", "label": "bot"}, headers=auth(keys["admin"]))
    assert created.status_code == 201
    new_key = created.json()["key"]
    assert client.get("/v1/kbs", headers=auth(new_key)).status_code == 200
    assert client.delete(f"/v1/keys/{created.json()['id']}", headers=auth(keys["admin"])).status_code == 200
    assert_problem(client.get("/v1/kbs", headers=auth(new_key)), 401)
    listed = client.get("/v1/keys", headers=auth(keys["admin"])).json()
    assert all("key" not in row for row in listed)
    with open_store(sqlite_url).transaction() as session:
        actions = [r.action for r in AuditRepository(session).recent()]
    assert {"key.create", "key.revoke"} <= set(actions)


def test_oversized_body_is_413(client: TestClient, keys: dict[str, str]) -> None:
    big = {"kb": PACK, "evidence": {f"q{i}": "x" * 1000 for i in range(1100)}}
    assert_problem(client.post("/v1/diagnose", json=big, headers=auth(keys["agent"])), 413)


def test_unknown_question_lists_the_valid_ids(client: TestClient, keys: dict[str, str]) -> None:
    stateless = assert_problem(client.post("/v1/diagnose", json={"kb": PACK, "evidence": {"nope": "yes"}},
                                           headers=auth(keys["agent"])), 422)
    assert stateless["type"].endswith("unknown-question") and "attachment_mail_fails" in stateless["details"][
        "valid_questions"]
    session = client.post("/v1/sessions", json={"kb": PACK}, headers=auth(keys["agent"])).json()
    answered = assert_problem(client.post(f"/v1/sessions/{session['id']}/answers",
                                          json={"question": "nope", "answer": "yes"}, headers=auth(keys["agent"])),
                              422)
    assert "attachment_mail_fails" in answered["details"]["valid_questions"]
    wrong_answer = assert_problem(client.post(f"/v1/sessions/{session['id']}/answers",
                                              json={"question": "attachment_mail_fails", "answer": "maybe"},
                                              headers=auth(keys["agent"])), 422)
    assert wrong_answer["details"]["valid_answers"] == ["yes", "no", "unknown"]


def test_unknown_kb_and_session_are_404(client: TestClient, keys: dict[str, str]) -> None:
    unknown = assert_problem(client.post("/v1/sessions", json={"kb": "/etc"}, headers=auth(keys["agent"])), 404)
    assert PACK in unknown["details"]["valid_kbs"]
    assert_problem(client.get("/v1/sessions/nope", headers=auth(keys["agent"])), 404)


def test_a_session_belongs_to_the_key_that_started_it(client: TestClient, keys: dict[str, str],
                                                      sqlite_url: str) -> None:
    """Another agent key gets the same 404 as for a missing session, on reads and writes alike;
    admin keys see every session; unowned sessions (started in the UI) stay open to any key."""
    owner = auth(keys["agent"])
    created = client.post("/v1/keys", json={"role": "agent", "label": "other bot"}, headers=auth(keys["admin"]))
    other = auth(created.json()["key"])
    session_id = client.post("/v1/sessions", json={"kb": PACK}, headers=owner).json()["id"]
    answer = {"question": "attachment_mail_fails", "answer": "yes"}
    assert client.post(f"/v1/sessions/{session_id}/answers", json=answer, headers=owner).status_code == 200

    assert_problem(client.get(f"/v1/sessions/{session_id}", headers=other), 404)
    assert_problem(client.get(f"/v1/sessions/{session_id}/next", headers=other), 404)
    assert_problem(client.post(f"/v1/sessions/{session_id}/undo", headers=other), 404)
    missing = assert_problem(client.get("/v1/sessions/0123456789abcdef", headers=other), 404)
    hidden = assert_problem(client.get(f"/v1/sessions/{session_id}", headers=other), 404)
    assert hidden["detail"] == missing["detail"].replace("0123456789abcdef", session_id)
    # the other key's refused undo changed nothing
    kept = client.get(f"/v1/sessions/{session_id}", headers=owner).json()
    assert kept["answers"] == [answer] and kept["events"] == 1
    assert client.get(f"/v1/sessions/{session_id}", headers=auth(keys["admin"])).status_code == 200

    unowned = SessionService(open_store(sqlite_url)).start(PACK).id
    assert client.get(f"/v1/sessions/{unowned}", headers=other).status_code == 200


def test_rate_limit_is_429_with_retry_after(sqlite_url: str, keys: dict[str, str]) -> None:
    with TestClient(create_app(ApiSettings(rate_limit_per_minute=2), sqlite_url)) as limited:
        for _ in range(2):
            assert limited.get("/v1/kbs", headers=auth(keys["agent"])).status_code == 200
        refused = limited.get("/v1/kbs", headers=auth(keys["agent"]))
        assert_problem(refused, 429)
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert limited.get("/v1/kbs", headers=auth(keys["author"])).status_code == 200


def test_rate_limit_holds_across_workers_sharing_the_database(sqlite_url: str, keys: dict[str, str]) -> None:
    """Two app instances on one database stand for two worker processes (the server test runs real ones)."""
    settings = ApiSettings(rate_limit_per_minute=3)
    with TestClient(create_app(settings, sqlite_url)) as first, TestClient(create_app(settings, sqlite_url)) as second:
        statuses = [(first if i % 2 else second).get("/v1/kbs", headers=auth(keys["agent"])).status_code
                    for i in range(6)]
    assert statuses[:3] == [200, 200, 200] and set(statuses[3:]) == {429}


def test_failed_key_checks_are_limited_per_client_address(sqlite_url: str, keys: dict[str, str]) -> None:
    with TestClient(create_app(ApiSettings(rate_limit_per_minute=0, auth_failures_per_minute=3), sqlite_url)) as api:
        for _ in range(3):
            assert_problem(api.get("/v1/kbs", headers=auth("rw_guess")), 401)
        refused = assert_problem(api.get("/v1/kbs", headers=auth("rw_guess")), 429)
        assert "failed key checks" in refused["detail"]
        assert_problem(api.get("/v1/kbs", headers=auth(keys["agent"])), 429)  # the address, not the key, is barred


def test_text_that_is_not_unicode_is_422_naming_the_field(client: TestClient, keys: dict[str, str]) -> None:
    raw = '{"kb": "mail_delivery", "evidence": {"attachment_mail_fails": "\\ud800"}}'
    body = assert_problem(client.post("/v1/diagnose", content=raw, headers={**auth(keys["agent"]),
                                                                             "Content-Type": "application/json"}), 422)
    assert "body.evidence.attachment_mail_fails" in body["detail"]
    key = '{"kb": "mail_delivery", "evidence": {"\\udfff": "yes"}}'
    assert_problem(client.post("/v1/diagnose", content=key, headers={**auth(keys["agent"]),
                                                                      "Content-Type": "application/json"}), 422)
    assert client.get("/v1/kbs", headers=auth(keys["agent"])).status_code == 200


def test_an_unexpected_failure_is_a_problem_500_and_the_server_carries_on(sqlite_url: str,
                                                                        keys: dict[str, str]) -> None:
    app = create_app(ApiSettings(rate_limit_per_minute=0), sqlite_url)

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    with TestClient(app) as api:  # re-raising, as Starlette's own handler does, would fail this call
        body = assert_problem(api.get("/broken"), 500)
        assert "RuntimeError" in body["detail"] and "a bug" not in body["detail"]
        assert api.get("/healthz").status_code == 200


def test_open_mode_admits_requests_without_a_key(sqlite_url: str, keys: dict[str, str]) -> None:
    with TestClient(create_app(ApiSettings(api_open=True, rate_limit_per_minute=0), sqlite_url)) as open_client:
        assert open_client.get("/v1/keys").status_code == 200
        assert_problem(open_client.get("/v1/keys", headers=auth("rw_wrong")), 401)


def test_openapi_documents_every_error_status_as_problem_json(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operations = [(path, op) for path, item in schema["paths"].items() if path.startswith("/v1/")
                  for op in item.values()]
    assert len(operations) == len(ENDPOINTS)
    for path, operation in operations:
        for status in ("401", "403", "404", "413", "422", "429"):
            content = operation["responses"][status]["content"]
            assert list(content) == ["application/problem+json"], (path, status)
    assert client.get("/docs").status_code == 200


def test_session_flow_resolves_into_a_reviewed_case(client: TestClient, keys: dict[str, str], sqlite_url: str) -> None:
    agent, author = auth(keys["agent"]), auth(keys["author"])
    session = client.post("/v1/sessions", json={"kb": PACK}, headers=agent).json()
    base = f"/v1/sessions/{session['id']}"
    for question in ("attachment_mail_fails", "single_sender_affected", "path_mtu_reduced"):
        assert client.post(f"{base}/answers", json={"question": question, "answer": "yes"},
                           headers=agent).status_code == 200
    undone = client.post(f"{base}/undo", headers=agent).json()
    assert [a["question"] for a in undone["answers"]] == ["attachment_mail_fails", "single_sender_affected"]
    withdrawn = client.delete(f"{base}/answers/single_sender_affected", headers=agent).json()
    assert [a["question"] for a in withdrawn["answers"]] == ["attachment_mail_fails"]
    assert_problem(client.delete(f"{base}/answers/single_sender_affected", headers=agent), 422)
    tried = client.post(f"{base}/fix-attempts", json={"fix": "restart_postfix", "outcome": "persisted"},
                        headers=agent).json()
    assert tried["fixes_tried"] == [{"fix": "restart_postfix", "outcome": "persisted"}]

    resolved = client.post(f"{base}/resolve", json={"confirmed_causes": ["mtu_mru_mismatch"], "resolution": "MRU"},
                           headers=agent)
    assert resolved.status_code == 201, resolved.text
    case = resolved.json()
    assert case["status"] == "draft" and case["evidence"]["attachment_mail_fails"]["answer"] == "yes"
    assert case["fixes_tried"] == [{"fix": "restart_postfix", "outcome": "persisted"}]
    assert_problem(client.post(f"{base}/resolve", json={"confirmed_causes": ["mtu_mru_mismatch"]}, headers=agent), 409)
    bad_cause = assert_problem(client.post(f"{base}/resolve", json={"confirmed_causes": ["nope"]}, headers=agent), 422)
    assert "mtu_mru_mismatch" in bad_cause["details"]["valid_causes"]

    listed = client.get("/v1/cases", params={"kb": PACK, "status": "draft"}, headers=author).json()["cases"]
    assert [c["id"] for c in listed] == [case["id"]]
    reviewed = client.post(f"/v1/cases/{case['id']}/review", json={"status": "reviewed"}, headers=author)
    assert reviewed.json()["status"] == "reviewed"
    assert client.get(f"/v1/cases/{case['id']}", headers=author).json()["status"] == "reviewed"
    with open_store(sqlite_url).transaction() as db:
        actions = {r.action: r.who for r in AuditRepository(db).recent()}
    assert actions["case.create"].startswith("key:") and actions["case.review"].startswith("key:")


def test_idempotency_key_reused_for_another_answer_is_409(client: TestClient, keys: dict[str, str]) -> None:
    agent = auth(keys["agent"])
    session = client.post("/v1/sessions", json={"kb": PACK}, headers=agent).json()
    url = f"/v1/sessions/{session['id']}/answers"
    once = {**agent, "Idempotency-Key": "k1"}
    first = client.post(url, json={"question": "attachment_mail_fails", "answer": "yes"}, headers=once)
    assert first.status_code == 200
    assert client.post(url, json={"question": "attachment_mail_fails", "answer": "yes"},
                       headers=once).json()["events"] == 1
    assert_problem(client.post(url, json={"question": "attachment_mail_fails", "answer": "no"}, headers=once), 409)


def test_skipped_questions_are_left_out_statelessly_and_in_sessions(client: TestClient,
                                                                   keys: dict[str, str]) -> None:
    agent = auth(keys["agent"])
    evidence = {"attachment_mail_fails": "yes"}
    plain = client.post("/v1/diagnose", json={"kb": PACK, "evidence": evidence}, headers=agent).json()
    best = plain["questions"][0]["id"]
    skipped = client.post("/v1/diagnose", json={"kb": PACK, "evidence": evidence, "skip": [best]}, headers=agent)
    assert skipped.status_code == 200
    assert best not in [q["id"] for q in skipped.json()["questions"]]
    unknown = assert_problem(client.post("/v1/diagnose", json={"kb": PACK, "skip": ["nope"]}, headers=agent), 422)
    assert "attachment_mail_fails" in unknown["details"]["valid_questions"]

    session = client.post("/v1/sessions", json={"kb": PACK}, headers=agent).json()["id"]
    client.post(f"/v1/sessions/{session}/answers", json={"question": "attachment_mail_fails", "answer": "yes"},
                headers=agent)
    asked = client.get(f"/v1/sessions/{session}/next", params={"skip": [best, "path_mtu_reduced"]}, headers=agent)
    assert asked.status_code == 200
    assert not {best, "path_mtu_reduced"} & {q["id"] for q in asked.json()["questions"]}
    assert_problem(client.get(f"/v1/sessions/{session}/next", params={"skip": "nope"}, headers=agent), 422)

    stored = client.post(f"/v1/sessions/{session}/skipped", json={"question": best}, headers=agent)
    assert stored.status_code == 200 and stored.json()["skipped"] == [best]
    assert client.get(f"/v1/sessions/{session}", headers=agent).json()["skipped"] == [best]
    later = client.get(f"/v1/sessions/{session}/next", headers=agent).json()
    assert best not in [q["id"] for q in later["questions"]]
    assert_problem(client.post(f"/v1/sessions/{session}/skipped", json={"question": "nope"}, headers=agent), 422)
    assert_problem(client.delete(f"/v1/sessions/{session}/skipped/path_mtu_reduced", headers=agent), 422)
    assert client.delete(f"/v1/sessions/{session}/skipped/{best}", headers=agent).json()["skipped"] == []
    client.post(f"/v1/sessions/{session}/skipped", json={"question": best}, headers=agent)
    assert client.delete(f"/v1/sessions/{session}/skipped", headers=agent).json()["skipped"] == []


def test_the_leading_objective_is_offered_statelessly_and_in_sessions(client: TestClient,
                                                                      keys: dict[str, str]) -> None:
    agent = auth(keys["agent"])
    evidence = {"attachment_mail_fails": "yes", "single_sender_affected": "yes"}
    turn = {"kb": PACK, "evidence": evidence, "objective": "leading"}
    leading = client.post("/v1/diagnose", json=turn, headers=agent)
    every = client.post("/v1/diagnose", json={"kb": PACK, "evidence": evidence, "objective": "all"}, headers=agent)
    default = client.post("/v1/diagnose", json={"kb": PACK, "evidence": evidence}, headers=agent)
    assert default.status_code == 200 and default.json()["objective"] == "decision"
    assert leading.status_code == every.status_code == 200
    gains = {q["id"]: q["expected_gain_bits"] for q in every.json()["questions"]}
    # summing over fewer causes can only lower a question's gain
    assert all(q["expected_gain_bits"] <= gains.get(q["id"], float("inf")) + 1e-12 for q in leading.json()["questions"])
    assert_problem(client.post("/v1/diagnose", json={**turn, "objective": "most"}, headers=agent), 422)
    session = client.post("/v1/sessions", json={"kb": PACK}, headers=agent).json()["id"]
    asked = client.get(f"/v1/sessions/{session}/next", params={"objective": "leading"}, headers=agent)
    assert asked.status_code == 200 and asked.json()["questions"]


def test_kb_description_has_chatbot_phrasing_and_answers(client: TestClient, keys: dict[str, str]) -> None:
    described = client.get(f"/v1/kbs/{PACK}", headers=auth(keys["agent"])).json()
    question = next(q for q in described["questions"] if q["id"] == "attachment_mail_fails")
    assert question["text"] and question["short"] and question["answers"] == ["yes", "no", "unknown"]
    assert described["causes"] and described["fixes"]
    listed = {p["id"]: p for p in client.get("/v1/kbs", headers=auth(keys["agent"])).json()["packs"]}
    assert len(listed[PACK]["hash"]) == 16 and listed[PACK]["questions"] == len(described["questions"])


@pytest.mark.slow
def test_stateless_diagnose_and_assess(client: TestClient, keys: dict[str, str]) -> None:
    agent = auth(keys["agent"])
    evidence = {"attachment_mail_fails": "yes", "single_sender_affected": "yes", "path_mtu_reduced": "yes"}
    turn = client.post("/v1/diagnose", json={"kb": PACK, "evidence": evidence}, headers=agent)
    assert turn.status_code == 200, turn.text
    body = turn.json()
    assert {"causes", "combinations", "questions", "stop", "recommended_actions", "kb"} <= set(body)
    assert all(q["id"] not in evidence for q in body["questions"])
    assessed = client.post("/v1/fixes/assess", json={"kb": PACK, "evidence": evidence, "text": "restart postfix"},
                           headers=agent)
    assert assessed.status_code == 200, assessed.text
    assert {"verdict", "p_resolves", "alternatives"} <= set(assessed.json())
    both = assert_problem(client.post("/v1/fixes/assess", json={"kb": PACK}, headers=agent), 422)
    assert "exactly one" in both["detail"]


SIZE_REJECT = (
    "Nov 21 10:14:03 mx1 postfix/smtpd[4102]: NOQUEUE: reject: RCPT from mail.partner.example[203.0.113.25]: "
    "552 5.3.4 Message size exceeds fixed limit; from=<alice@partner.example> to=<bob@example.com> "
    "proto=ESMTP helo=<mail.partner.example>\n"
)


def test_extracted_evidence_is_recorded_as_answers_with_redacted_lines(client: TestClient, keys: dict[str, str],
                                                                      sqlite_url: str) -> None:
    agent = auth(keys["agent"])
    stateless = client.post("/v1/evidence/extract", json={"kb": PACK, "text": SIZE_REJECT}, headers=agent).json()
    assert stateless["answers"] == {"size_rejection_bounce": "yes"}
    assert all("@" not in f["source_line"] for f in stateless["findings"])
    assert "size_limit_552_log" in {f["signature"] for f in stateless["findings"]}
    assert stateless["unmatched"] == []

    session = client.post("/v1/sessions", json={"kb": PACK}, headers=agent).json()
    url = f"/v1/sessions/{session['id']}/evidence"
    recorded = client.post(url, json={"text": SIZE_REJECT}, headers={**agent, "Idempotency-Key": "paste-1"}).json()
    assert recorded["recorded"] == ["size_rejection_bounce"]
    again = client.post(url, json={"text": SIZE_REJECT}, headers={**agent, "Idempotency-Key": "paste-1"}).json()
    assert again["recorded"] == []
    state = client.get(f"/v1/sessions/{session['id']}", headers=agent).json()
    assert state["answers"] == [{"question": "size_rejection_bounce", "answer": "yes"}] and state["events"] == 1
    with open_store(sqlite_url).transaction() as db:
        (entry,) = AuditRepository(db).recent(action="session.extract")
    assert entry.target == session["id"]
    stored_line = entry.details["answers"][0]["source_line"]
    assert "552 5.3.4" in stored_line and "alice@" not in stored_line and "<redacted>" in stored_line


def test_extract_lists_the_error_like_lines_it_did_not_understand(client: TestClient, keys: dict[str, str]) -> None:
    text = ("452 4.2.2 The recipient's inbox is out of storage space.\n"
            "Nov 28 10:00:03 mx frobd[9]: error: flux capacitor for jane@example.jp refused\n")
    body = client.post("/v1/evidence/extract", json={"kb": PACK, "text": text}, headers=auth(keys["agent"])).json()
    assert {(f["question"], f["reply_code"], f["signature"]) for f in body["findings"]} == {
        ("quota_exceeded_logged", "rfc_x_2_2", None), ("failures_are_temporary", None, "failure_temporary_reply")}
    assert body["unmatched"] == [{"line_number": 2,
                                  "text": "Nov 28 10:00:03 mx frobd[9]: error: flux capacitor for <redacted> refused"}]


@pytest.mark.parametrize("raw", ['{"kb": "mail_delivery", "evidence": {"attachment_mail_fails": ' + "9" * 5001 + "}}",
                                 "[" * 100_000 + "]" * 100_000,
                                 '{"kb": "mail_delivery", "evidence": {"attachment_mail_fails": 1e999}}'],
                         ids=["5001-digit number", "nesting 100,000 deep", "infinite number"])
def test_hostile_json_bodies_are_clear_client_errors(client: TestClient, keys: dict[str, str], raw: str) -> None:
    response = client.post("/v1/diagnose", content=raw, headers={**auth(keys["agent"]),
                                                                 "Content-Type": "application/json"})
    assert response.status_code in (400, 422), response.text
    assert_problem(response, response.status_code)
