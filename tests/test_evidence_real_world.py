"""Evidence from text as people paste it: wrappers, fragments, redactions, reply codes, unknown lines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.evidence import ExtractedAnswer, extract, read, to_evidence
from engine.evidence.normalize import normalise
from engine.kb.knowledge import KnowledgeBase
from engine.kb.schema import SOFT_CODE_RELIABILITY
from engine.kb.validate import load_kb, validate

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
BUNDLED = Path(__file__).resolve().parent.parent / "kb" / "mail_delivery"

TIMEOUT = "timeout after DATA (14480 bytes) from mail.partner.example[203.0.113.25]"
REJECT = ("NOQUEUE: reject: RCPT from mail.partner.example[203.0.113.25]: 554 5.7.1 Service unavailable; "
          "Client host [203.0.113.25] blocked using zen.spamhaus.org; from=<a@partner.example> "
          "to=<b@example.jp> proto=ESMTP helo=<mail.partner.example>")


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_kb("mail_delivery")


def by_signature(found: list[ExtractedAnswer]) -> set[tuple[str, str, str | None]]:
    return {(f.question, f.answer, f.signature_id) for f in found}


WRAPPERS = {
    "bare fragment": "{m}",
    "syslog (RFC 3164)": "Nov 28 10:02:11 mx1 postfix/smtpd[2211]: {m}",
    "syslog with priority": "<22>Nov  8 10:02:11 mx1 postfix/smtpd[2211]: {m}",
    "journalctl short-iso": "2026-11-28T10:02:11+0900 mx1 postfix/smtpd[2211]: {m}",
    "journalctl short-precise": "Nov 28 10:02:11.123456 mx1 postfix/smtpd[2211]: {m}",
    "journalctl short-full": "Sat 2026-11-28 10:02:11 JST mx1 postfix/smtpd[2211]: {m}",
    "journalctl short-unix": "1764292931.123456 mx1 postfix/smtpd[2211]: {m}",
    "RFC 5424": "<22>1 2026-11-28T01:02:11.000Z mx1 postfix/smtpd 2211 - - {m}",
    "RFC 5424 with structured data": '<22>1 2026-11-28T01:02:11Z mx1 postfix/smtpd 2211 ID47 [meta x="1"] {m}',
    "docker compose": "postfix_1  | Nov 28 10:02:11 mx1 postfix/smtpd[2211]: {m}",
    "mailcow": "postfix-mailcow-1  | Nov 28 10:02:11 mail postfix/smtpd[2211]: {m}",
    "mailcow with colours": "\x1b[36mpostfix-mailcow-1  |\x1b[0m Nov 28 10:02:11 mail postfix/smtpd[2211]: {m}",
    "quoted": "> Nov 28 10:02:11 mx1 postfix/smtpd[2211]: {m}",
    "quoted twice": ">> > {m}",
    "indented forum paste": "    {m}",
    "spacing": "Nov 28 10:02:11 mx1 postfix/smtpd[2211]:   {spaced}",
    "case": "Nov 28 10:02:11 mx1 postfix/smtpd[2211]: {upper}",
}


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
@pytest.mark.parametrize(("message", "expected"), [
    (TIMEOUT, ("data_phase_timeout_logged", "yes", "postfix_timeout_after_data")),
    (REJECT, ("listed_on_dnsbl", "yes", "dnsbl_rejection")),
])
def test_one_fact_whatever_the_wrapper(kb: KnowledgeBase, wrapper: str, message: str,
                                       expected: tuple[str, str, str]) -> None:
    line = WRAPPERS[wrapper].format(m=message, spaced=message.replace(" ", "  \t"), upper=message.upper())
    found = extract(line, kb)
    assert expected in by_signature(found)
    assert all(f.source_line == line for f in found), "provenance is the line as written"


@pytest.mark.parametrize("redacted_ip", ["x.x.x.x", "xxx.xxx.xxx.xxx", "XXX.XXX.XXX.XXX", "[x]", "[...]",
                                         "[REDACTED]", "***.***.***.***", "203.0.x.x"])
def test_redacted_addresses_still_match(kb: KnowledgeBase, redacted_ip: str) -> None:
    ip = redacted_ip if not redacted_ip.startswith("[") else redacted_ip[1:-1]
    line = f"timeout after DATA (0 bytes) from unknown[{ip}]"
    assert ("data_phase_timeout_logged", "yes", "postfix_timeout_after_data") in by_signature(extract(line, kb))


@pytest.mark.parametrize(("raw", "rendered"), [
    ("from unknown[x.x.x.x]", "from unknown[redacted]"),
    ("from mail.[...].com[192.0.2.1]", "from mail.redacted.com[192.0.2.1]"),
    ("to=<...> from=<removed>", "to=<redacted> from=<redacted>"),
    ("password ****** for user [REDACTED]", "password redacted for user [redacted]"),
    ("&lt;ito@example.jp&gt;: Recipient &quot;x&quot; &amp; more", '<ito@example.jp>: Recipient "x" & more'),
    ("220 ***************************", "220 ***************************"),  # a PIX banner is evidence
    ("*** Error connecting to mx:25", "*** Error connecting to mx:25"),  # swaks' marker, not a redaction
    ("relay=mx.example.jp[192.0.2.25]:25", "relay=mx.example.jp[192.0.2.25]:25"),
    ("Postfix 3.5.1 and mx.example.jp", "Postfix 3.5.1 and mx.example.jp"),
    ("   ", ""),
    # a multi-line reply from a repr or JSON string: escaped breaks, continuation codes once
    (r"'554-5.7.1 a\r\n554-5.7.1 b\r\n554 5.7.1 c\r\n'", "'554 5.7.1 a b c '"),
    (r"b'550-first\n550 second'", "b'550 first second'"),
    (r"C:\new\folder\n2 copies", r"C:\new\folder\n2 copies"),  # a path, not an escaped break
])
def test_normalise_redactions_and_escapes(raw: str, rendered: str) -> None:
    assert normalise(raw) == rendered


def test_wrapped_bounce_prose_is_joined_and_kept_as_written(kb: KnowledgeBase) -> None:
    text = ("<nosuch@customer.example>: host mx.customer.example[198.51.100.12] said: 550\n"
            "    5.1.1 <nosuch@customer.example>: Recipient address rejected: User unknown\n"
            "    in virtual mailbox table (in reply to RCPT TO command)\n")
    (finding, *_) = [f for f in extract(text, kb) if f.signature_id == "user_unknown_5_1_1"]
    assert finding.line_number == 1
    assert finding.source_line.startswith("<nosuch@customer.example>: host")
    assert "in virtual mailbox table" in finding.source_line  # the continuation lines, as written


def test_fragments_from_other_daemons_are_read(kb: KnowledgeBase) -> None:
    found = extract((SAMPLES / "fragments" / "other_daemons.log").read_text(encoding="utf-8"), kb)
    assert by_signature(found) >= {
        ("quota_exceeded_logged", "yes", "dovecot_quota_exceeded"),
        ("data_phase_timeout_logged", "yes", "sendmail_collect_timeout"),
        ("tls_handshake_failed_logged", "yes", "sendmail_starttls_error"),
        ("quarantine_entry_found", "yes", "amavis_blocked"),
        ("spf_dmarc_fail_in_headers", "yes", "opendmarc_fail"),
        ("dos_flag_on_receiver", "yes", "fail2ban_mail_jail_ban"),
        ("ptr_missing_or_mismatch", "yes", "ptr_unknown_client_hostname"),
    }
    extractors = {f.signature_id: f.extractor for f in found}
    assert extractors["dovecot_quota_exceeded"] == "dovecot_log"  # named by the signature that read the line
    assert extractors["ptr_unknown_client_hostname"] == "postfix_log"  # the family that claimed the line


def test_an_unknown_wording_with_a_known_code_still_says_something(kb: KnowledgeBase) -> None:
    found = extract("452 4.2.2 The recipient's inbox is out of storage space.", kb)
    (finding,) = [f for f in found if f.signature_id is None]
    # the reply's class is read too, and does not silence the code: it says nothing of what failed
    assert {(f.question, f.answer, f.signature_id) for f in found if f.signature_id} == {
        ("failures_are_temporary", "yes", "failure_temporary_reply")}
    assert (finding.question, finding.answer, finding.reply_code) == ("quota_exceeded_logged", "yes", "rfc_x_2_2")
    assert finding.signature_id is None and finding.strength < 0.9
    hard, soft = to_evidence([finding], kb)
    assert hard == {} and soft[0].question == "quota_exceeded_logged"


@pytest.mark.parametrize(("line", "expected"), [
    ("550 5.2.2 no room left for this one", {("quota_exceeded_logged", "rfc_x_2_2")}),
    ("552 5.2.1 this mailbox is disabled", set()),  # not the size that a bare 552 suggests
    ("552 your message could not be taken", {("size_rejection_bounce", "smtp_552")}),
    ("550 5.5.2 syntax nonsense", set()),  # a known enhanced code that bears on nothing silences 550
    ("421 4.7.0 [TSS04] Messages from 203.0.113.25 temporarily deferred",
     {("provider_rate_limit_deferral", "yahoo_tss04")}),  # a reputation deferral, no limiter named
    ("550 5.7.606 Access denied, banned sending IP [203.0.113.25]",
     {("listed_on_dnsbl", "ms_5_7_606"), ("policy_reject_logged", "ms_5_7_606")}),
    ("4.4.316 Connection refused [Message=Socket error code 10061]", {("smtp_port_unreachable", "ms_4_4_316")}),
    ("version 4.96.2 of the software", set()),
    ("Version 4.7.1 of the package, 5.2.2 release notes and section 5.1.1 of the manual", set()),
    ("Final-Recipient: rfc822; a@b.example, Status: 5.2.2", {("quota_exceeded_logged", "rfc_x_2_2")}),
    ("smtp; 550-5.7.26 This message does not have authentication information",
     {("spf_dmarc_fail_in_headers", "rfc_x_7_26")}),
])
def test_specific_codes_beat_broad_ones(kb: KnowledgeBase, line: str, expected: set[tuple[str, str]]) -> None:
    found = [f for f in extract(line, kb) if f.reply_code is not None]
    assert {(f.question, f.reply_code) for f in found} == expected


def test_a_signature_silences_the_rfc_reading_of_its_line(kb: KnowledgeBase) -> None:
    found = extract("Nov 26 05:01:33 relay1 postfix/smtp[12301]: 7A1B2C0E44: to=<kato@customer.example>, "
                    "status=bounced (host mx[198.51.100.12] said: 552 5.2.2 <kato@customer.example>: "
                    "Recipient address rejected: Mailbox full (in reply to RCPT TO command))", kb)
    # quota_5_2_2 silences the codes; the class reading (bounced: permanent) does not silence anything
    assert {f.signature_id for f in found} == {"quota_5_2_2", "failure_permanent_status", "failure_permanent_log"}


def test_every_reply_code_entry_is_soft_sourced_and_names_real_questions(kb: KnowledgeBase) -> None:
    assert len(kb.reply_codes) >= 150
    for entry in kb.reply_codes:
        assert entry.references
        for answer in entry.answers:
            assert answer.reliability <= SOFT_CODE_RELIABILITY < 0.9
            assert answer.answer in kb.questions[answer.question].answers
    codes = {entry.code for entry in kb.reply_codes}
    registry = {f"X.{s}.{d}" for s, top in ((0, 0), (1, 10), (2, 4), (3, 6), (4, 7), (5, 6), (6, 10), (7, 30))
                for d in range(top + 1)}
    assert registry <= codes, sorted(registry - codes)
    assert {"421", "450", "451", "452", "550", "551", "552", "553", "554"} <= codes


def test_a_reply_code_entry_naming_an_unknown_question_is_a_validation_error(tmp_path: Path) -> None:
    pack = tmp_path / "mail_delivery"
    shutil.copytree(BUNDLED, pack)
    text = (pack / "reply_codes.yaml").read_text(encoding="utf-8")
    (pack / "reply_codes.yaml").write_text(text.replace("question: quota_exceeded_logged", "question: no_such_q", 1),
                                           encoding="utf-8")
    kb, raw = validate(pack, identifiability=False)
    assert kb is None
    (problem,) = [p for p in raw.problems if p.severity == "error"]
    assert problem.file == "reply_codes.yaml" and "no_such_q" in problem.message and problem.line


def test_error_like_lines_nothing_understood_are_returned(kb: KnowledgeBase) -> None:
    text = ("Nov 28 10:00:00 mx postfix/smtpd[1]: connect from unknown[203.0.113.9]\n"
            "Nov 28 10:00:01 mx postfix/smtp[2]: warning: TLS policy lookup for x.example: no TLSA records\n"
            f"Nov 28 10:00:02 mx postfix/smtpd[1]: {TIMEOUT}\n"
            "Nov 28 10:00:03 mx frobd[9]: fatal: flux capacitor refused\n"
            "Action: failed\nStatus: 5.3.5\n")
    result = read(text, kb)
    assert [u.line_number for u in result.unmatched] == [2, 4]  # "Status: 5.3.5" reads as a permanent failure
    assert result.unmatched[1].text == "Nov 28 10:00:03 mx frobd[9]: fatal: flux capacitor refused"


def test_cli_extract_json_lists_reply_codes_and_unmatched_lines(tmp_path: Path) -> None:
    artifact = tmp_path / "bounce.txt"
    artifact.write_text("452 4.2.2 The recipient's inbox is out of storage space.\n"
                        "Nov 28 10:00:03 mx frobd[9]: error: flux capacitor for jane@example.jp refused\n",
                        encoding="utf-8")
    result = CliRunner().invoke(app, ["extract", "--kb", "mail_delivery", str(artifact), "--format", "json",
                                      "--redact"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"kb", "answers", "evidence", "unmatched"}
    assert {(row["question"], row["signature"], row["reply_code"]) for row in document["answers"]} == {
        ("quota_exceeded_logged", None, "rfc_x_2_2"), ("failures_are_temporary", "failure_temporary_reply", None)}
    assert document["unmatched"] == [{"file": str(artifact), "line": 2,
                                      "text": "Nov 28 10:00:03 mx frobd[9]: error: flux capacitor for <redacted> "
                                              "refused"}]
    only = CliRunner().invoke(app, ["extract", "--kb", "mail_delivery", str(artifact), "-f", "json", "--unmatched"])
    assert only.exit_code == 0, only.output
    listed = json.loads(only.stdout)
    assert set(listed) == {"kb", "unmatched"} and [u["line"] for u in listed["unmatched"]] == [2]
    table = CliRunner().invoke(app, ["extract", "--kb", "mail_delivery", str(artifact), "--unmatched"])
    assert table.exit_code == 0 and "flux capacitor" in table.stdout and "inbox" not in table.stdout


PASTED = [
    ("554 5.7.1 <info@example.net>: Relay access denied",
     {("policy_reject_logged", "yes"), ("failures_are_temporary", "no")}),
    ("status=deferred (connect to mx.example.jp[192.0.2.25]:25: Connection timed out)",  # our delivery, not our port
     {("outbound_25_times_out_everywhere", "yes"), ("failures_are_temporary", "yes")}),
    ("nc: connect to mail.example.org port 25 (tcp) failed: Connection timed out", {("smtp_port_unreachable", "yes")}),
    ("Host or domain name not found. Name service error for name=example.con type=MX: Host not found, try again",
     {("bounce_host_not_found", "yes"), ("name_service_errors_logged", "yes")}),
    ("warning: SASL authentication failure: cannot connect to saslauthd server: No such file or directory",
     {("sasl_auth_errors_logged", "yes")}),
    ("warning: TLS library problem: error:14094410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure",
     {("tls_handshake_failed_logged", "yes")}),
    ("said: 450 4.7.1 Client host rejected: cannot find your hostname, [198.51.100.7] (in reply to RCPT TO command)",
     {("ptr_missing_or_mismatch", "yes"), ("clients_deferred_cannot_find_hostname", "yes"),
      ("failures_are_temporary", "yes")}),  # not the greylisting a bare 4.7.1 would suggest
    ("550 5.7.1 Service unavailable, Client host [x.x.x.x] blocked using Spamhaus. To request removal from this list "
     "see https://www.spamhaus.org/query/ip/x.x.x.x (AS3130)",
     {("listed_on_dnsbl", "yes"), ("policy_reject_logged", "yes"), ("failures_are_temporary", "no")}),
    ("450 4.2.0 <ito@example.jp>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/x",
     {("greylist_deferral_logged", "yes"), ("failures_are_temporary", "yes")}),
    ("552-5.2.2 The email account that you tried to reach is over quota.",
     {("quota_exceeded_logged", "yes"), ("failures_are_temporary", "no")}),
    ("550-5.1.1 The email account that you tried to reach does not exist.",
     {("user_unknown_bounce", "yes"), ("failures_are_temporary", "no")}),
    ("554 5.7.9 Message not accepted for policy reasons. See https://help.yahoo.com/kb/postmaster/SLN7253.html",
     {("policy_reject_logged", "yes"), ("failures_are_temporary", "no")}),
    ("status=bounced (unknown user: \"ito\")",
     {("user_unknown_bounce", "yes"), ("accepts_then_bounces_unknown", "yes"), ("failures_are_temporary", "no")}),
    ("status=bounced (message size 26214400 exceeds size limit 10240000 of server mx.example.jp[192.0.2.25])",
     {("size_rejection_bounce", "yes"), ("failures_are_temporary", "no")}),
    ("421 Too many concurrent SMTP connections from this IP address; please try again later.",
     {("dos_flag_on_receiver", "yes"), ("too_many_connections_logged", "yes"), ("failures_are_temporary", "yes")}),
    ("connect to gmail-smtp-in.l.google.com[2a00:1450:400c:c0b::1b]:25: Network is unreachable",
     {("ipv6_delivery_fails", "yes")}),
    ("** nobody@nowhere.example: Unrouteable address",  # Exim's ** flag: the address bounced
     {("bounce_host_not_found", "yes"), ("failures_are_temporary", "no")}),
    ("warning: database /etc/postfix/virtual.db is older than source file /etc/postfix/virtual",
     {("config_warnings_logged", "yes"), ("table_lookup_problem_logged", "yes")}),
    ("Nov 28 10:00:00 mx postfix/anvil[99]: statistics: max connection rate 1/60s for (smtp:203.0.113.9) at Nov 28",
     set()),
    ("Nov 28 10:00:00 mx postfix/smtpd[1]: connect from mail.partner.example[203.0.113.25]", set()),
    ("Nov 28 10:00:00 mx postfix/smtp[2]: 4F1A: to=<a@b.example>, relay=mx.b.example[198.51.100.4]:25, delay=0.5, "
     "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 7C1D)", set()),
    ("The mail server's firewall blocks nothing and all tests passed.", set()),
]


@pytest.mark.parametrize(("line", "expected"), PASTED)
def test_strings_as_people_paste_them(kb: KnowledgeBase, line: str, expected: set[tuple[str, str]]) -> None:
    """Each string alone, as one file would be graded: the answers it gives are exactly the expected ones."""
    assert {(f.question, f.answer) for f in extract(line, kb)} == expected


def test_a_line_wrapped_without_indentation_is_joined(kb: KnowledgeBase) -> None:
    text = ("The response from the remote server was:\n"
            "said: 550 5.7.1 <ito@example.jp>: Recipient address rejected: your message was rejected by DMARC\n"
            "policy for partner.example (in reply to end of DATA command)\n"
            "timeout after DATA from unknown[x.x.x.x]\n")
    found = extract(text, kb)
    (dmarc,) = [f for f in found if f.signature_id == "auth_results_fail"]
    assert dmarc.line_number == 2 and dmarc.source_line.endswith("(in reply to end of DATA command)")
    assert 4 in {f.line_number for f in found}, "a short line before it was not wrapped"


def test_bare_messages_with_a_label_are_never_taken_for_wrapped_tails(kb: KnowledgeBase) -> None:
    text = ("warning: hostname mail.partner.example does not resolve to address 203.0.113.25\n"
            "warning: unknown[203.0.113.44]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n")
    assert [f.line_number for f in extract(text, kb)] == [1, 2]


def assert_each_line_reads(kb: KnowledgeBase, sample: str, expected_per_line: list[set[tuple[str, str]]]) -> None:
    """Each line of ``data/samples/fragments/<sample>``, read alone (as one pasted file would be),
    gives exactly its answers; the sample and its list of expectations have the same length."""
    lines = (SAMPLES / "fragments" / sample).read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(expected_per_line)
    for line, expected in zip(lines, expected_per_line, strict=True):
        assert {(f.question, f.answer) for f in extract(line, kb)} == expected, line


PACK_1_2_2 = [
    {("sasl_auth_errors_logged", "yes")},  # the request names its SASL mechanism
    {("failures_are_temporary", "no"), ("local_delivery_deferred_logged", "yes"), ("quota_exceeded_logged", "yes")},
    {("failures_are_temporary", "yes"), ("local_delivery_deferred_logged", "yes")},
    {("failures_are_temporary", "no"), ("policy_reject_logged", "yes")},
    {("failures_are_temporary", "no"), ("policy_reject_logged", "yes")},
    {("service_not_running", "yes")},
    {("service_not_running", "yes")},
    {("greylist_deferral_logged", "yes")},
    {("greylist_deferral_logged", "yes")},
    {("failures_are_temporary", "no"), ("policy_reject_logged", "yes")},
    {("failures_are_temporary", "yes")},
    {("failures_are_temporary", "no"), ("policy_reject_logged", "yes")},
    {("failures_are_temporary", "no"), ("sasl_auth_errors_logged", "yes")},
    {("service_not_running", "no")},
    {("dos_flag_on_receiver", "yes"), ("failures_are_temporary", "no")},
]


def test_pack_1_2_2_wordings_one_line_at_a_time(kb: KnowledgeBase) -> None:
    """Each line of the 1.2.2 sample (Dovecot SASL, Exim ** and ==, gateway and filter refusals,
    daemons throttled at startup, rspamd and postgrey greylisting, webmail SMTP errors, ss output)
    read alone gives exactly its answers."""
    assert_each_line_reads(kb, "pack_1_2_2.txt", PACK_1_2_2)


NARROWED = [
    # a passdb line that does not name the service: as likely IMAP as SMTP AUTH
    "Nov 28 11:00:05 mx dovecot: auth: passwd-file(ito@example.jp,203.0.113.44): unknown user",
    # a listener on loopback alone is not listening for other hosts
    "tcp        0      0 127.0.0.1:25            0.0.0.0:*               LISTEN      1320/master",
]


@pytest.mark.parametrize("line", NARROWED)
def test_lines_that_prove_less_than_they_seem_give_nothing(kb: KnowledgeBase, line: str) -> None:
    assert extract(line, kb) == []


PROVIDER_DEFERRALS = [
    "451 4.7.500 Server busy. Please try again later from [203.0.113.25]. (S77719)",
    "421 4.7.0 [TSS04] Messages from 203.0.113.25 temporarily deferred due to unexpected volume or user complaints",
    "421-4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your IP address.",
]


@pytest.mark.parametrize("line", PROVIDER_DEFERRALS)
def test_provider_deferrals_do_not_claim_a_limiter_flagged_us(kb: KnowledgeBase, line: str) -> None:
    """A reputation deferral is provider_rate_limit_deferral; only "has been rate limited" says more."""
    answers = {(f.question, f.answer) for f in extract(line, kb)}
    assert ("provider_rate_limit_deferral", "yes") in answers
    assert not any(question == "dos_flag_on_receiver" for question, _ in answers)


PACK_1_2_2_SECOND = [
    {("failures_are_temporary", "no"), ("users_cannot_send", "yes")},  # Microsoft 365 SMTP AUTH disabled
    {("users_cannot_send", "yes")},  # MailKit's exception: the client's failure, not our maillog's SASL
    {("failures_are_temporary", "no"), ("users_cannot_send", "yes")},
    {("failures_are_temporary", "no"), ("users_cannot_send", "yes")},  # smtplib's (550, b'...') tuple
    {("users_cannot_send", "yes")},
    {("failures_are_temporary", "no"), ("users_cannot_send", "yes")},  # PHPMailer debug, not an Exim line
    {("failures_are_temporary", "no")},  # the sender is unknown, not the recipient
    {("failures_are_temporary", "no")},  # a sending quota, not a full mailbox
    {("failures_are_temporary", "yes"), ("provider_rate_limit_deferral", "yes")},
    {("failures_are_temporary", "yes"), ("provider_rate_limit_deferral", "yes")},  # no limiter flag, no policy
    {("failures_are_temporary", "yes"), ("provider_rate_limit_deferral", "yes")},  # Yahoo TSS09 is a 421
    {("dos_flag_on_receiver", "yes"), ("failures_are_temporary", "yes"), ("too_many_connections_logged", "yes")},
    {("failures_are_temporary", "no"), ("listed_on_dnsbl", "yes"), ("policy_reject_logged", "yes")},
    {("failures_are_temporary", "no"), ("policy_reject_logged", "yes")},  # Cisco's reputation refusal
    {("failures_are_temporary", "no"), ("policy_reject_logged", "yes")},  # a bare reply, no log prefix
    {("sasl_auth_errors_logged", "yes")},
    {("failures_are_temporary", "yes")},
    {("failures_are_temporary", "yes")},
    {("filter_daemons_running", "no")},
    {("filter_daemons_running", "no")},
    {("filter_connect_refused_logged", "yes"), ("filter_daemons_running", "no")},
    {("smtp_greeting_slow", "yes")},  # the TCP connection was made: the port is reachable
    {("bounce_host_not_found", "yes"), ("failures_are_temporary", "no")},  # NXDOMAIN: not our resolver
    {("bounce_host_not_found", "yes"), ("failures_are_temporary", "yes"), ("name_service_errors_logged", "yes")},
    {("failures_are_temporary", "yes"), ("greylist_deferral_logged", "yes")},  # smtplib's (450, b'...')
]


def test_pack_1_2_2_second_round_one_line_at_a_time(kb: KnowledgeBase) -> None:
    """Each line of the second 1.2.2 sample (client-side submission failures, sender-side and
    sending-quota wordings, provider deferrals, greeting refusals, bare replies, saslauthd, sendmail
    deferrals, filter back ends, greeting timeouts, NXDOMAIN against a failing resolver), read
    alone as one graded file would be, gives exactly its answers."""
    assert_each_line_reads(kb, "pack_1_2_2_second.txt", PACK_1_2_2_SECOND)


@pytest.mark.parametrize("line", [
    "Nov 28 10:00:03 mx saslauthd[801]: do_auth : auth failure: [user=ito] [service=imap] [realm=] [mech=shadow] "
    "[reason=Unknown]",  # a mailbox login, not SMTP AUTH
    "Nov 28 10:00:05 mx amavis[1459]: (01459-01) (!)ClamAV-clamscan av-scanner FAILED: /usr/bin/clamscan KILLED, "
    "signal 9 (0009) at (eval 100) line 905.",  # clamscan is a command, not a daemon
])
def test_second_round_lines_that_prove_nothing_give_nothing(kb: KnowledgeBase, line: str) -> None:
    assert extract(line, kb) == []


PACK_1_2_2_THIRD = [
    {("config_warnings_logged", "yes")},
    {("config_warnings_logged", "yes")},
    {("config_warnings_logged", "yes")},
    {("bounce_host_not_found", "yes"), ("failures_are_temporary", "no")},
    {("bounce_host_not_found", "yes")},
    {("mx_record_missing_or_wrong", "yes")},
    {("dns_servfail_with_dnssec", "yes")},
    {("bounce_loops_back_to_myself", "yes")},
    {("smtp_port_unreachable", "yes")},
    {("smtp_port_unreachable", "no")},
    {("size_rejection_bounce", "yes")},
    {("sasl_auth_errors_logged", "yes")},
    {("dos_flag_on_receiver", "yes"), ("failures_are_temporary", "yes"), ("too_many_connections_logged", "yes")},
    {("quarantine_entry_found", "yes")},
    {("firewall_smtp_inspection_enabled", "yes")},
    {("path_mtu_reduced", "yes")},
    {("doveconf_reports_errors", "yes"), ("service_not_running", "yes")},
    {("failures_are_temporary", "no"), ("quota_exceeded_logged", "yes")},
    {("bdat_in_transcript", "yes")},
    {("user_unknown_bounce", "yes")},
]
"""What each line of ``pack_1_2_2_third.txt`` answers, in order."""


def test_pack_1_2_2_third_round_one_line_at_a_time(kb: KnowledgeBase) -> None:
    """Each line of the third 1.2.2 sample (Postfix parameter problems, names that do not exist,
    malformed MX, a validating resolver's DNSSEC failure, the mailer-loop warning, connection tests,
    groupware SMTP AUTH, connection limits, amavis, PIX workarounds, tcpdump's need-to-frag, Dovecot
    failing to start, BDAT, Exchange's recipient-not-found prose), read alone, gives exactly its answers."""
    assert_each_line_reads(kb, "pack_1_2_2_third.txt", PACK_1_2_2_THIRD)


@pytest.mark.parametrize("line", [
    "Dec  1 09:10:00 mx1 postfix/smtpd[900]: lost connection after DATA (0 bytes) from unknown[192.0.2.1]",
    "220 smtp.gmail.com ESMTP a1-20020a05600c000000b004000000000sm1234567wmb.1 - gsmtp",
    "Diagnostic-Code: smtp; 550 5.1.1 RCP-P2 Refused due to recipient preferences",
    "Received-SPF: Permerror (mailfrom) identity=mailfrom; client-ip=192.0.2.7 Reject action: 550 5.7.23 SPF",
])
def test_third_round_lines_that_prove_less_than_they_seem(kb: KnowledgeBase, line: str) -> None:
    """A disconnect is not a timeout, a provider's greeting is not our port, a 5.1.1 reused for another
    reason is not an unknown user, a permerror is not an SPF fail: none gives those answers."""
    answers = {(f.question, f.answer) for f in extract(line, kb)}
    assert not answers & {("data_phase_timeout_logged", "yes"), ("smtp_port_unreachable", "no"),
                          ("user_unknown_bounce", "yes"), ("spf_dmarc_fail_in_headers", "yes")}


PACK_1_2_3 = [
    {("failures_are_temporary", "no")},  # "mailbox unavailable" is any 550 (RFC 5321 4.2.3), not "unknown"
    {("failures_are_temporary", "no"), ("policy_reject_logged", "yes")},  # "Try again later" after a 5xx
    {("failures_are_temporary", "no"), ("local_delivery_deferred_logged", "yes"), ("user_unknown_bounce", "yes")},
    {("failures_are_temporary", "no"), ("users_cannot_send", "yes")},  # an application's log, not Exim's
    {("users_cannot_send", "yes")},  # .NET SmtpClient: the client's failure, not our maillog's SASL
    {("failures_are_temporary", "no"), ("users_cannot_send", "yes")},  # Gmail's BadCredentials line
    {("users_cannot_send", "yes")},
    {("failures_are_temporary", "no"), ("users_cannot_send", "yes")},
    {("users_cannot_send", "yes")},  # Outlook's send task
    {("failures_are_temporary", "no")},  # Exim's verify = recipient: a 550, not a name that does not exist
    {("tls_handshake_failed_logged", "yes")},  # PHP's stream layer
    {("failures_are_temporary", "no"), ("spf_dmarc_fail_in_headers", "yes")},
    {("doveconf_reports_errors", "yes")},
    {("service_not_running", "yes")},  # Dovecot 1.x master's own fatal
    {("failures_are_temporary", "yes")},  # sendmail's map lookup TEMPFAIL
    {("smtp_port_unreachable", "no")},  # smtp-cli's [220] 'greeting'
    {("delivery_agent_errors_logged", "yes")},  # index corruption
    {("oom_or_fork_errors", "yes")},
    {("fail2ban_ban_found", "no")},
    {("sasl_auth_errors_logged", "yes")},  # an empty client field
    {("failures_are_temporary", "no"), ("listed_on_dnsbl", "yes"), ("policy_reject_logged", "yes")},
]
"""What each line of ``pack_1_2_3.txt`` answers, in order."""


def test_pack_1_2_3_one_line_at_a_time(kb: KnowledgeBase) -> None:
    """Each line of the 1.2.3 sample (generic 550 texts, LMTP's unknown user, client-side
    submission refusals, PHP's TLS errors, DKIM signature prose, Dovecot start-up fatals, sendmail's
    deferred map lookups, smtp-cli greetings, index corruption, vsz_limit, fail2ban status, an
    escaped multi-line reply), read alone, gives exactly its answers."""
    assert_each_line_reads(kb, "pack_1_2_3.txt", PACK_1_2_3)


PACK_1_2_3_SECOND = [
    {("failures_are_temporary", "yes")},  # a sending provider's storage reply: not our disk
    {("failures_are_temporary", "no"), ("policy_reject_logged", "yes")},  # Exchange delivery restriction
    {("tls_handshake_failed_logged", "yes")},  # a library's own CA store: not our chain, no client warning
    {("failures_are_temporary", "no"), ("users_cannot_send", "yes")},  # no recipient or 5.1.x: not unknown
    {("users_cannot_send", "yes")},  # EAGAIN is no 4xx deferral
    {("users_cannot_send", "yes")},  # Go: dial tcp to a loopback submission port
    {("users_cannot_send", "yes")},  # msmtp
    {("dos_flag_on_receiver", "yes"), ("failures_are_temporary", "yes"), ("too_many_connections_logged", "yes"),
     ("users_cannot_send", "yes")},  # Thunderbird relaying its own server's connection limit
    {("failures_are_temporary", "no"), ("users_cannot_send", "yes")},  # the account's daily sending limit
    {("failures_are_temporary", "yes"), ("name_service_errors_logged", "yes"),
     ("outbound_tls_required_deferral", "yes")},  # TLSA lookup SERVFAIL
    {("mta_sts_check_fails", "yes")},
    {("failures_are_temporary", "yes")},  # a reply code quoted by AsyncOS
    {("tls_handshake_failed_logged", "yes")},  # Go's crypto/tls servers
    {("size_rejection_bounce", "yes")},
    {("service_not_running", "yes")},  # postfix(1) cannot run postfix-script
    {("quarantine_entry_found", "yes")},  # amavis: passed, but quarantined
    {("ptr_missing_or_mismatch", "yes")},  # smtpd's forward-confirmation warning
    {("failures_are_temporary", "no")},  # Exim verify = recipient
    {("sasl_auth_errors_logged", "yes")},  # Exim AUTH protocol error
    {("failures_are_temporary", "no"), ("policy_reject_logged", "yes")},
    {("cert_name_missing_host", "yes"), ("client_certificate_warning", "yes"), ("tls_handshake_failed_logged", "yes"),
     ("users_cannot_send", "yes")},  # Go crypto/x509 name mismatch in a failed mail send
    {("users_cannot_send", "yes")},  # nodemailer connection timeout
    {("bounce_host_not_found", "yes")},  # sendmail EX_NOHOST
    {("failures_are_temporary", "yes")},  # Exchange delay notification
    {("failures_are_temporary", "no")},  # sendmail ruleset reject=553
    {("delivery_agent_errors_logged", "yes")},  # Cyrus lmtpd IOERROR
    {("user_unknown_bounce", "yes")},  # Gmail "Address not found" prose
    {("bounce_host_not_found", "yes")},  # Gmail prose: the domain couldn't be found
]
"""What each line of ``pack_1_2_3_second.txt`` answers, in order."""


def test_pack_1_2_3_second_round_one_line_at_a_time(kb: KnowledgeBase) -> None:
    """Each line of the second 1.2.3 sample (provider storage replies, Exchange delivery
    restrictions, a library's CA store, Thunderbird and mailx send failures, applications that cannot
    reach their SMTP server, sending limits, TLSA and MTA-STS failures, quoted reply codes, Go TLS
    handshake errors, Postfix queue-file size and start fatals, amavis quarantines, FCrDNS warnings,
    Exim's unrouteable recipients and AUTH protocol errors, Gmail's address- and domain-not-found
    prose), read alone, gives exactly its answers."""
    assert_each_line_reads(kb, "pack_1_2_3_second.txt", PACK_1_2_3_SECOND)


PACK_1_2_4 = [
    {("failures_are_temporary", "no"), ("users_cannot_send", "yes")},  # a library's (535, b'...') tuple
    {("failures_are_temporary", "no"), ("users_cannot_send", "yes")},  # 534 5.7.9 in a str tuple: no Yahoo reading
    {("users_cannot_send", "yes")},  # Swift/Symfony Mailer could not log in
    {("users_cannot_send", "yes")},  # PEAR Net_SMTP (Roundcube)
    {("users_cannot_send", "yes")},  # Nextcloud Mail
    {("users_cannot_send", "yes")},  # Node: connect refused on 0.0.0.0, the local host
    {("filter_daemons_running", "no")},  # systemd: a forking filter daemon's start failed
    {("queue_growing", "yes")},  # qmgr: one destination clogs the active queue
    {("failures_are_temporary", "yes"), ("users_cannot_send", "yes")},  # check_sasl_access
    {("failures_are_temporary", "yes")},  # Stalwart queue.rescheduled
    {("size_rejection_bounce", "yes")},  # Thunderbird's size alert
    {("size_rejection_bounce", "yes")},  # Apache James SIZE hook
    {("mx_record_missing_or_wrong", "yes")},  # an application's "No MX record for domain"
    {("name_service_errors_logged", "yes")},  # rspamd RBL lookup SERVFAIL
    {("failures_are_temporary", "no"), ("user_unknown_bounce", "yes")},  # qmail-send failure
    {("failures_are_temporary", "yes")},  # qmail-send deferral
    {("failures_are_temporary", "yes")},  # rspamd soft reject
    {("failures_are_temporary", "yes"), ("users_cannot_send", "yes")},  # rspamd user ratelimit
    {("policy_reject_logged", "yes"), ("ptr_missing_or_mismatch", "yes")},  # pflogsumm reject detail
    {("service_not_running", "yes")},  # master(8): unknown service name
    {("disk_space_low", "yes")},  # df: /var at 99 %
    {("users_cannot_send", "yes")},  # Ruby: the relay refuses the connection
    {("users_cannot_send", "yes")},  # curl: no reply from the submission server
    {("failures_are_temporary", "no")},  # a remote server's "550 Unrouteable address": no DNS failure
]
"""What each line of ``pack_1_2_4.txt`` answers, in order."""


def test_pack_1_2_4_one_line_at_a_time(kb: KnowledgeBase) -> None:
    """Each line of the 1.2.4 sample (AUTH refusals as client libraries and web mailers print them,
    which are the client's error and not our maillog's SASL line; a connection refused by the local
    host's 0.0.0.0; a filter daemon whose start failed under systemd; qmgr's clogged active queue,
    check_sasl_access refusals, Stalwart's rescheduled deliveries, Thunderbird's and Apache James'
    size limits, "No MX record" prose, rspamd RBL errors, soft rejects and user rate limits, qmail-send
    failures and deferrals, pflogsumm's reject summary, an unknown master.cf service name, a full
    filesystem in df, Ruby and curl submission failures), read alone, gives exactly its answers."""
    assert_each_line_reads(kb, "pack_1_2_4.txt", PACK_1_2_4)


PACK_1_2_5 = [
    {("users_cannot_send", "yes")},  # a Rails application's mail job raised
    {("users_cannot_send", "yes")},  # a Go program's SMTP setting reached Dovecot's IMAP greeting
    {("failures_are_temporary", "yes"), ("local_delivery_deferred_logged", "yes")},  # OpenSMTPD mda TempFail
    {("local_delivery_deferred_logged", "yes")},  # the wrapped tail of an OpenSMTPD mda line
    {("config_warnings_logged", "yes")},  # Postfix: a configured host/service that does not resolve
    {("users_cannot_send", "yes")},  # Jakarta Mail: the submission server refused the message
    {("failures_are_temporary", "no"), ("user_unknown_bounce", "yes")},  # "Recipient <x> does not exist"
]
"""What each line of ``pack_1_2_5.txt`` answers, in order."""


def test_pack_1_2_5_one_line_at_a_time(kb: KnowledgeBase) -> None:
    """Each line of the 1.2.5 sample (application mailers' failures: Rails' delivery job, a Go
    program pointed at an IMAP port, Jakarta Mail's refusal; OpenSMTPD's local deliveries, whole and
    wrapped; a Postfix daemon dying on an unresolvable configured endpoint; a recipient that "does not
    exist"), read alone, gives exactly its answers."""
    assert_each_line_reads(kb, "pack_1_2_5.txt", PACK_1_2_5)


PACK_1_2_6 = [
    {("failures_are_temporary", "yes")},  # a delay notice promising retries "until it is 5 days old"
    {("failures_are_temporary", "yes")},  # "Delivery to the following recipient has been delayed"
    {("quota_exceeded_logged", "yes")},  # "the mail folder is full"
    {("failures_are_temporary", "no"), ("quota_exceeded_logged", "yes")},  # "552 Quota violation"
    {("size_rejection_bounce", "yes")},  # "exceeded the maximum message size"
    {("user_unknown_bounce", "yes")},  # Exchange: "The recipient name is not recognized"
    {("bounce_host_not_found", "yes")},  # qmail-remote: "couldn't find any host named"
    {("tls_handshake_failed_logged", "yes")},  # openssl s_client -msg: a fatal handshake_failure alert
    {("tls_handshake_failed_logged", "yes")},  # openssl s_client: "SSL3 alert read:fatal:handshake failure"
    {("filter_timeout_logged", "yes")},  # rspamd's own task timeout
]
"""What each line of ``pack_1_2_6.txt`` answers, in order."""


def test_pack_1_2_6_one_line_at_a_time(kb: KnowledgeBase) -> None:
    """Each line of the 1.2.6 sample (delay notices that promise retries, mailbox-full and size
    wordings without a code, Exchange's and qmail's bounce prose, openssl's handshake alerts,
    rspamd's task timeout), read alone, gives exactly its answers."""
    assert_each_line_reads(kb, "pack_1_2_6.txt", PACK_1_2_6)


PACK_1_2_7 = [
    {("failures_are_temporary", "no"), ("helo_rejected_logged", "yes")},  # Postfix: "need fully-qualified hostname"
    {("failures_are_temporary", "no"), ("helo_rejected_logged", "yes")},  # a cPanel/Exim host: "Invalid HELO name"
    {("ptr_missing_or_mismatch", "yes")},  # forward confirmation fails, the address redacted as X's
    {("filter_daemons_running", "no")},  # supervisord: clamd exited (a filter, not the MTA)
    {("failures_are_temporary", "no"), ("quota_exceeded_logged", "yes")},  # "does not have enough space"
    {("user_unknown_bounce", "yes")},  # Exchange Online: "not listed in the domain's directory"
    {("sasl_auth_errors_logged", "yes")},  # nginx mail proxy: "client login failed"
    {("doveconf_reports_errors", "yes")},  # Dovecot's config process: a configuration warning
]
"""What each line of ``pack_1_2_7.txt`` answers, in order."""


def test_pack_1_2_7_one_line_at_a_time(kb: KnowledgeBase) -> None:
    """Each line of the 1.2.7 sample (HELO-name refusals, a redacted forward-confirmation warning,
    a filter daemon's exit, mailbox-space prose, Exchange Online's directory NDR, nginx's mail proxy
    and Dovecot's config process), read alone, gives exactly its answers; a supervised filter
    daemon's exit no longer reads as the mail service stopping."""
    assert_each_line_reads(kb, "pack_1_2_7.txt", PACK_1_2_7)


PACK_1_2_8 = [
    {("failures_are_temporary", "no"), ("listed_on_dnsbl", "yes")},  # Cloudmark CSI, the gateway in brackets
    {("failures_are_temporary", "no"), ("listed_on_dnsbl", "yes")},  # a doubled code, Exim's "in a black list at"
    {("name_service_errors_logged", "yes")},  # OpenDKIM: a key query timed out (not a failed signature)
    {("service_not_running", "yes")},  # postfix-script: the start-up check failed
    {("filter_daemons_running", "no")},  # ClamAV: a signature database does not load
    {("filter_daemons_running", "no")},  # rmilter, a date and time before its tag: clamd refuses the socket
    {("users_cannot_send", "yes")},  # Roundcube's SMTP test: its SMTP host does not resolve
    {("mx_record_missing_or_wrong", "yes")},  # dig: the zone name appended to an MX target without its dot
    {("failures_are_temporary", "yes")},  # a doubled 4xx code
]
"""What each line of ``pack_1_2_8.txt`` answers, in order."""


def test_pack_1_2_8_one_line_at_a_time(kb: KnowledgeBase) -> None:
    """Each line of the 1.2.8 sample (replies after a service's label, with a doubled code or the
    answering host in brackets; blocklists named by their zone or as Cloudmark's reputation list;
    OpenDKIM's key timeouts, postfix-script's failed start-up check, ClamAV's database errors, rmilter's
    refused scanner socket, Roundcube's SMTP test, dig's doubled zone name), read alone, gives exactly
    its answers; a key that could not be fetched is no longer read as a failed DKIM signature."""
    assert_each_line_reads(kb, "pack_1_2_8.txt", PACK_1_2_8)


PACK_1_2_9 = [
    {("delivery_agent_errors_logged", "yes")},  # Sieve's implicit keep cannot open INBOX, logged at debug level
    {("path_mtu_reduced", "yes")},  # tshark: ICMP fragmentation needed
    {("failures_are_temporary", "no")},  # sendmail: dsn=5.0.0, whatever stat= says
    {("failures_are_temporary", "yes"), ("quota_exceeded_logged", "yes")},  # the maildir-quota patch's wording
    {("failures_are_temporary", "no"), ("quota_exceeded_logged", "yes")},  # a DSN field without space or type
]
"""What each line of ``pack_1_2_9.txt`` answers, in order."""


def test_pack_1_2_9_one_line_at_a_time(kb: KnowledgeBase) -> None:
    """Each line of the 1.2.9 sample (a Sieve keep that cannot open INBOX, tshark's fragmentation-needed
    summary, sendmail's permanent dsn=5.x.x, the maildir-quota patch's bounce text, a Diagnostic-Code
    written without its space and type), read alone, gives exactly its answers."""
    assert_each_line_reads(kb, "pack_1_2_9.txt", PACK_1_2_9)


PACK_1_2_10 = [
    {("service_not_running", "yes")},  # postqueue: the mail system is down
    {("service_not_running", "yes")},  # systemctl's own reply to a failed start
    {("outbound_25_times_out_everywhere", "yes")},  # Haraka's outbound pool
    {("data_phase_timeout_logged", "yes")},  # sendmail delivering: timeout writing message
    {("tls_handshake_failed_logged", "yes")},  # OpenSSL's client error as Ruby raises it
    {("users_cannot_send", "yes")},  # a Go program's submission on 587 times out
    {("config_warnings_logged", "yes")},  # a TLS protocol list Postfix cannot parse
    {("config_warnings_logged", "yes")},  # a TLS policy attribute this Postfix lacks
    {("mx_record_missing_or_wrong", "yes")},  # dig: an MX target that is an IP address, any owner
    {("hosted_where_port25_restricted", "yes")},  # a provider's own words
    {("raw_non_ascii_in_message", "yes")},  # amavisd-new: raw 8-bit bytes in a header
]
"""What each line of ``pack_1_2_10.txt`` answers, in order."""


def test_pack_1_2_10_one_line_at_a_time(kb: KnowledgeBase) -> None:
    """Each line of the 1.2.10 sample (postqueue's and systemctl's words for a mail system down,
    Haraka's outbound timeouts, sendmail's DATA timeout as a client, OpenSSL's client SYSCALL error, a
    submission timeout, TLS settings Postfix cannot parse, an IP-literal MX in one dig line, a provider's
    port-25 block, amavis's 8-bit header check), read alone, gives exactly its answers."""
    assert_each_line_reads(kb, "pack_1_2_10.txt", PACK_1_2_10)


PACK_1_2_11 = [
    {("failures_are_temporary", "no"), ("users_cannot_send", "yes")},  # smtplib: a 552 at MAIL FROM is no size limit
    {("users_cannot_send", "yes")},  # PHP mail(): nothing answers where php.ini points
    {("filter_daemons_running", "no")},  # Mailu waiting for a clamd socket that never appears
    {("sasl_auth_errors_logged", "yes")},  # Domino's SMTP task refusing a login
    {("listed_on_dnsbl", "yes")},  # a filter's "DNSBL hit"
]
"""What each line of ``pack_1_2_11.txt`` answers, in order."""


def test_pack_1_2_11_one_line_at_a_time(kb: KnowledgeBase) -> None:
    """Each line of the 1.2.11 sample (Python's and PHP's submission failures, Mailu's clamd wait,
    Domino's SMTP authentication failure, a filter's DNSBL hit), read alone, gives exactly its answers;
    a 552 reply in smtplib's sender refusal no longer reads as a size limit."""
    assert_each_line_reads(kb, "pack_1_2_11.txt", PACK_1_2_11)


PACK_1_2_12 = [
    {("config_warnings_logged", "yes")},  # Postfix cannot load its certificate and turns TLS off
    {("config_warnings_logged", "yes")},  # OpenSSL 3's fopen failure for the key file: no handshake was tried
    {("line_too_long_rejection", "yes")},  # Exim's default ACL refusing a line over 998 octets
    {("data_phase_timeout_logged", "yes")},  # sendmail's collect: read timeout
    {("bounce_host_not_found", "yes")},  # OpenSMTPD: the MX lookup says the domain does not exist
    {("failures_are_temporary", "yes")},  # JavaMail's "452 #4.5.3"
    {("failures_are_temporary", "yes")},  # Ruby's 451 that opens with the address
    set(),  # a Dovecot listener that cannot bind: an error, the fatal follows
    {("service_not_running", "yes")},  # Dovecot's master giving up: "Failed to start listeners"
    {("failures_are_temporary", "yes"), ("greylist_deferral_logged", "yes")},  # a greylister's bare "Greylisted"
    {("policy_reject_logged", "yes")},  # Exim's default ACL refusing to relay
]
"""What each line of ``pack_1_2_12.txt`` answers, in order."""


def test_pack_1_2_12_one_line_at_a_time(kb: KnowledgeBase) -> None:
    """Each line of the 1.2.12 sample (Postfix's TLS files that cannot be loaded, Exim's line-length
    refusal, sendmail's body read timeout, OpenSMTPD's nonexistent domain, 4xx replies in JavaMail's and
    Ruby's words, Dovecot failing to start its listeners, a bare "Greylisted", Exim's relay refusal),
    read alone, gives exactly its answers; an fopen failure is no TLS handshake."""
    assert_each_line_reads(kb, "pack_1_2_12.txt", PACK_1_2_12)


def test_an_exim_mainlog_line_keeps_its_family_and_a_tagged_log_file_line_does_not(kb: KnowledgeBase) -> None:
    """Exim's mainlog starts with a date and time and never writes a ``name[pid]:`` tag after it; a
    program's own log file that does (rmilter, 2016-02-24 13:55:02 rmilter[9]: ...) is read by its
    message, with the time stamp gone."""
    assert normalise("2026-12-03 08:00:02 rmilter[900]: clamav: write 127.0.0.1: Connection refused") == (
        "rmilter[900]: clamav: write 127.0.0.1: Connection refused")
    exim = "2026-12-03 08:00:02 [1234] 1tAbCd-000123-Xy <= a@example.org H=mx.example.org [192.0.2.9] S=2048"
    assert normalise(exim) == exim


def test_a_postfix_bounce_wrapped_after_said_is_one_reply(kb: KnowledgeBase) -> None:
    """Postfix's bounce wraps the remote reply onto indented lines after "said:" (bounce(8)): the
    reply is the rest of that sentence, so its class and wording are read with it, though its first
    line would also pass for a reply of its own."""
    text = ("<b@example.net>: host mx.example.net[192.0.2.1] said:\n"
            "    550 5.1.1 <b@example.net>: Recipient address rejected: User unknown in\n"
            "    virtual mailbox table (in reply to RCPT TO command)\n")
    found = extract(text, kb)
    assert {(f.question, f.answer) for f in found} == {("failures_are_temporary", "no"), ("user_unknown_bounce", "yes")}
    assert {f.line_number for f in found} == {1}


def test_a_multi_line_reply_is_read_as_one(kb: KnowledgeBase) -> None:
    """RFC 5321 4.2.1: every line but the last repeats the code with a hyphen; the reply's class is
    its code's, whatever a later line's prose says, and the findings name its first line."""
    text = "S: 550-Requested action not taken: mailbox unavailable\nS: 550 Failure sending mail. Try again later\n"
    found = extract(text, kb)
    assert {(f.question, f.answer) for f in found} == {("failures_are_temporary", "no")}
    assert {f.line_number for f in found} == {1}
    blocked = ("554-5.7.1 Service unavailable; Client host [192.0.2.30] blocked using\n"
               "554-5.7.1 zen.spamhaus.org;\n554 5.7.1 https://www.spamhaus.org/query/ip/192.0.2.30\n")
    assert ("listed_on_dnsbl", "yes") in {(f.question, f.answer) for f in extract(blocked, kb)}


@pytest.mark.parametrize(("text", "reachable"), [
    ("=== Trying mx.example.jp:25...\n=== Connected to mx.example.jp.\n<-  220 mx.example.jp ESMTP Postfix\n", True),
    ("=== Trying localhost:25...\n=== Connected to localhost.\n<-  220 mx.example.jp ESMTP Postfix\n", False),
    ("Trying 127.0.0.1...\nConnected to localhost.\n220 mx.example.jp ESMTP Postfix\n", False),
])
def test_a_greeting_over_loopback_says_nothing_of_outside(kb: KnowledgeBase, text: str, reachable: bool) -> None:
    answers = {(f.question, f.answer) for f in extract(text, kb)}
    assert (("smtp_port_unreachable", "no") in answers) is reachable


PACK_1_2_13 = [
    {("ipv6_delivery_fails", "yes")},  # a relay's IPv6 address unreachable on 587, not only an MX on 25
    set(),  # a milter that closed the connection ("Success" as errno) did not time out
    {("filter_timeout_logged", "yes")},  # the same read with "Connection timed out" did
    {("bounce_host_not_found", "yes")},  # OpenSMTPD's bounce line for a nonexistent domain
    {("spf_dmarc_fail_in_headers", "yes")},  # OpenDMARC's own SPF check failing
    {("failures_are_temporary", "yes"), ("tempfail_451_at_data_logged", "yes")},  # cleanup's queue file write error
    {("cert_name_missing_host", "yes")},  # isync's hostname mismatch wording
    set(),  # a 554 carrying 4.4.7: the expiry of retried temporary failures, neither kind
    {("failures_are_temporary", "no"), ("user_unknown_bounce", "yes")},  # a real unknown user after the prefix
    {("bounce_host_not_found", "yes")},  # an MX answer Postfix could not parse
]
"""What each line of ``pack_1_2_13.txt`` answers, in order."""

PACK_1_2_14 = [
    {("bare_lf_rejection_logged", "yes"), ("failures_are_temporary", "no")},  # Postfix refusing a bare LF in DATA
    {("bare_lf_rejection_logged", "yes"), ("failures_are_temporary", "no")},  # Exchange Online's 5.6.11 NDR
    {("bare_lf_rejection_logged", "yes"), ("failures_are_temporary", "yes")},  # qmail-smtpd's stray newline
    {("bare_lf_rejection_logged", "yes"), ("failures_are_temporary", "no")},  # hMailServer's refusal
    {("bare_lf_rejection_logged", "yes"), ("failures_are_temporary", "no")},  # the bare 5.6.11 code, soft
    {("table_lookup_problem_logged", "yes")},  # trivial-rewrite could not look up a domain list
    {("bdat_in_transcript", "yes")},  # smtpd's command counts name BDAT
    {("failures_are_temporary", "yes")},  # a DSN's Diagnostic-Code holding a 4xx reply
    {("delivery_agent_errors_logged", "yes")},  # procmail could not write the mailbox
    {("failures_are_temporary", "yes"), ("provider_rate_limit_deferral", "yes"), ("dos_flag_on_receiver", "yes"),
     ("spf_dmarc_fail_in_headers", "yes")},  # Gmail throttling unauthenticated mail
    {("failures_are_temporary", "yes"), ("ptr_missing_or_mismatch", "yes")},  # a receiver's failed PTR lookup
    {("doveconf_reports_errors", "yes")},  # Dovecot's userdb settings refused
    {("filter_daemons_running", "no")},  # clamd gives up when it cannot chown its socket
    {("outbound_25_times_out_everywhere", "no")},  # Gmail's inbound MX greets: outbound 25 gets through
    {("size_rejection_bounce", "yes")},  # postdrop over the file size limit that message_size_limit sets
    {("config_warnings_logged", "yes")},  # postmap's duplicate key
    {("doveconf_reports_errors", "yes")},  # a passwd-file the configuration names is missing
    {("quota_exceeded_logged", "yes")},  # a Japanese carrier's full-mailbox bounce
    {("sasl_auth_errors_logged", "yes")},  # Exchange's receive protocol log: our 535 to a client
    {("fail2ban_ban_found", "yes")},  # mailcow's netfilter ban
    set(),  # warn_if_reject: the rejection that was only logged
    {("sasl_auth_errors_logged", "yes")},  # Postfix's own login at its relay host refused: deferred, not bounced
    {("listed_on_dnsbl", "yes")},  # GMX's greeting refusal
    {("bounce_host_not_found", "yes")},  # Exchange's DNS NDR prose
    {("relay_denied_for_own_clients", "yes")},  # iOS Mail's relay alert
    {("failures_are_temporary", "no"), ("quota_exceeded_logged", "yes")},  # a 552 that is a full mailbox
    {("user_unknown_bounce", "yes")},  # "User doesn't exist" quoted without its code
]
"""What each line of ``pack_1_2_14.txt`` answers, in order."""


def test_pack_1_2_13_one_line_at_a_time(kb: KnowledgeBase) -> None:
    """Each line of the 1.2.13 sample (IPv6 relays on submission ports, milter end-of-file versus
    timeout, OpenSMTPD's and OpenDMARC's own wordings, Postfix's queue file write error, isync's
    certificate name check, a 5xx with a class-4 enhanced code, a malformed MX reply), read alone,
    gives exactly its answers."""
    assert_each_line_reads(kb, "pack_1_2_13.txt", PACK_1_2_13)


def test_pack_1_2_14_one_line_at_a_time(kb: KnowledgeBase) -> None:
    """Each line of the 1.2.14 sample (bare line feeds refused by Postfix, Exchange Online, qmail and
    hMailServer, and Exchange's bare 5.6.11 code; a domain list lookup failure, BDAT in smtpd's counts,
    a DSN's 4xx, procmail's write error, Gmail's 4.7.26 throttle, a failed PTR lookup, Dovecot's user
    settings, clamd's socket ownership, Gmail's MX greeting; postdrop's file size limit, postmap's duplicate
    entry, a missing passwd-file, a Japanese full-mailbox bounce, Exchange's protocol log, mailcow's ban,
    a reject_warning; Postfix's client SASL failure, GMX's listing, Exchange's DNS prose, iOS's relay alert,
    Willcom's full mailbox, "User doesn't exist"), read alone, gives exactly its answers."""
    assert_each_line_reads(kb, "pack_1_2_14.txt", PACK_1_2_14)
