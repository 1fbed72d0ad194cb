"""Extraction from the sample artifacts in data/samples, one test per extractor family, plus the API.

Each test names the lines that must be found (by signature or structural check) and, where a
sample exists to show it, what must *not* be found, so a loosened pattern fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.bundled import samples_dir
from engine.cli import app
from engine.evidence import ExtractedAnswer, extract, read, redact, to_evidence
from engine.evidence.model import Line
from engine.evidence.signatures import Haystack, required_literals
from engine.kb.knowledge import KnowledgeBase
from engine.kb.validate import load_kb
from engine.reason.evidence import build_evidence

SAMPLES = samples_dir()


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_kb("mail_delivery")


def found_in(kb: KnowledgeBase, sample: str) -> list[ExtractedAnswer]:
    return extract((SAMPLES / sample).read_text(encoding="utf-8"), kb)


def keys(found: list[ExtractedAnswer]) -> set[tuple[str, str, str | None, int]]:
    return {(f.question, f.answer, f.signature_id, f.line_number) for f in found}


def test_postfix_receiver_data_phase_timeouts_and_peer_pattern(kb: KnowledgeBase) -> None:
    found = found_in(kb, "seed/maillog")
    assert {f.extractor for f in found} == {"postfix_log"}
    assert keys(found) >= {
        ("data_phase_timeout_logged", "yes", "postfix_timeout_after_data", 10),
        ("data_phase_timeout_logged", "yes", "postfix_timeout_after_data", 20),
        ("data_phase_timeout_logged", "yes", "postfix_timeout_after_data", 30),
        ("single_sender_affected", "yes", None, 10),  # every failure from 203.0.113.25, others deliver
        ("attachment_mail_fails", "yes", None, 4),  # the same peer's 3 412-byte mail was accepted
        ("other_senders_large_mail_ok", "yes", None, 15),  # 4.7 MB from 198.51.100.40 arrived
    }


def test_postfix_sender_side_timeouts_lost_connection_is_weaker(kb: KnowledgeBase) -> None:
    found = found_in(kb, "postfix/sender_side_timeouts.log")
    by_line = {f.line_number: f for f in found if f.question == "data_phase_timeout_logged"}
    assert by_line[2].signature_id == "postfix_body_timeout"
    assert by_line[5].signature_id == "postfix_lost_connection_sending_body"
    assert by_line[5].strength < by_line[2].strength < 0.95  # both ambiguous: soft, never hard
    assert ("attachment_mail_fails", "yes", None, 4) in keys(found)


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("postfix/size_reject.log", {("size_rejection_bounce", "yes", "size_limit_552_log", 2),
                                     ("size_rejection_bounce", "yes", "size_limit_552_log", 4)}),
        ("postfix/spf_dmarc_reject.log", {("spf_dmarc_fail_in_headers", "yes", "spf_dmarc_rejection", 1),
                                          ("spf_dmarc_fail_in_headers", "yes", "spf_dmarc_rejection", 2),
                                          ("policy_reject_logged", "yes", "policy_rejection_5_7_1", 2)}),
        ("postfix/dnsbl_reject.log", {("listed_on_dnsbl", "yes", "dnsbl_rejection", 2),
                                      ("listed_on_dnsbl", "yes", "postscreen_dnsbl_rank", 5),
                                      ("listed_on_dnsbl", "yes", "postscreen_dnsbl_reject", 6)}),
        ("postfix/greylisting.log", {("greylist_deferral_logged", "yes", "greylisting_deferral", 2)}),
        ("postfix/sasl_failure.log", {("sasl_auth_errors_logged", "yes", "sasl_socket_unreachable", 2),
                                      ("sasl_auth_errors_logged", "yes", "postfix_no_sasl_mechanisms", 3),
                                      ("sasl_auth_errors_logged", "yes", "sasl_authentication_failed", 5)}),
        ("postfix/tls_failure.log", {("tls_handshake_failed_logged", "yes", "tls_handshake_failure", 2)}),
        ("postfix/anvil_rate_limit.log", {("dos_flag_on_receiver", "yes", "anvil_rate_limit", 1)}),
        ("postfix/loops_back.log", {("bounce_loops_back_to_myself", "yes", "postfix_loops_back_to_myself", 2)}),
    ],
)
def test_postfix_cause_families(kb: KnowledgeBase, sample: str, expected: set[tuple[str, str, str, int]]) -> None:
    found = found_in(kb, sample)
    assert keys(found) >= expected
    assert {f.extractor for f in found} == {"postfix_log"}


def test_postfix_server_faults(kb: KnowledgeBase) -> None:
    assert keys(found_in(kb, "postfix/server_faults.log")) >= {
        ("disk_space_low", "yes", "disk_full", 1),
        ("disk_space_low", "yes", "disk_full", 2),
        ("config_warnings_logged", "yes", "postfix_config_file_warning", 3),
        ("config_warnings_logged", "yes", "postfix_size_limits_inconsistent", 4),
        ("user_unknown_bounce", "yes", "user_unknown_5_1_1", 6),
        ("quota_exceeded_logged", "yes", "quota_5_2_2", 7),
        ("bounce_host_not_found", "yes", "host_not_found_bounce", 8),
        ("ehlo_masked_xxxx", "yes", "masked_command_xxxx", 9),
    }


def test_lost_connection_is_not_a_data_phase_timeout(kb: KnowledgeBase) -> None:
    """smtpd's "lost connection after DATA" is a disconnect (spambots, impatient clients), not the
    "timeout after DATA" the question asks about; "lost connection after BDAT" shows the client used BDAT."""
    assert not [f for f in found_in(kb, "postfix/server_faults.log") if f.question == "data_phase_timeout_logged"]
    found = read("Nov 26 04:10:19 mx1 postfix/smtpd[12201]: lost connection after BDAT from unknown[203.0.113.9]", kb)
    assert {(f.question, f.answer) for f in found.found} == {("bdat_in_transcript", "yes")}


def test_postfix_anvil_statistics_line_is_not_a_rate_limit(kb: KnowledgeBase) -> None:
    assert {f.line_number for f in found_in(kb, "postfix/anvil_rate_limit.log")} == {1}


def test_exim_receiver_timeouts_and_peer_pattern(kb: KnowledgeBase) -> None:
    found = found_in(kb, "exim/data_timeout_mainlog")
    assert {f.extractor for f in found} == {"exim_log"}
    assert keys(found) >= {
        ("data_phase_timeout_logged", "yes", "exim_smtp_data_timeout", 4),
        ("data_phase_timeout_logged", "yes", "exim_smtp_data_timeout", 6),
        ("single_sender_affected", "yes", None, 4),
        ("attachment_mail_fails", "yes", None, 1),
        ("other_senders_large_mail_ok", "yes", None, 5),
    }


def test_exim_policy_lines(kb: KnowledgeBase) -> None:
    assert keys(found_in(kb, "exim/policy_mainlog")) == {
        ("listed_on_dnsbl", "yes", "exim_dnsbl_rejection", 1),
        ("listed_on_dnsbl", "yes", "dnsbl_named_in_rejection", 1),
        ("listed_on_dnsbl", "yes", "dnsbl_black_list_at_wording", 1),  # the reply's own words, as bounces quote it
        ("greylist_deferral_logged", "yes", "exim_greylisted", 2),
        ("sasl_auth_errors_logged", "yes", "exim_authenticator_failed", 3),
        ("tls_handshake_failed_logged", "yes", "exim_tls_error", 4),
        ("tls_handshake_failed_logged", "yes", "tls_handshake_wording", 4),  # OpenSSL's "SSL routines"
        ("dos_flag_on_receiver", "yes", "exim_rate_limit", 5),
        ("size_rejection_bounce", "yes", "exim_message_too_big", 6),
        ("size_rejection_bounce", "yes", "size_rejection_wording", 6),
        ("failures_are_temporary", "yes", "failure_temporary_wording", 2),  # "temporarily rejected RCPT"
        ("failures_are_temporary", "yes", "failure_temporary_wording", 5),  # "temporarily rejected MAIL"
    }


def test_exim_sender_side(kb: KnowledgeBase) -> None:
    assert keys(found_in(kb, "exim/sender_side.log")) >= {
        ("data_phase_timeout_logged", "yes", "exim_data_block_timeout", 1),
        ("size_rejection_bounce", "yes", "size_limit_552_log", 2),
    }


def test_dsn_size_bounce_reads_status_and_diagnostic_code(kb: KnowledgeBase) -> None:
    found = found_in(kb, "bounces/size_5_3_4.eml")
    assert keys(found) >= {
        ("size_rejection_bounce", "yes", "size_limit_dsn_status", 39),
        ("size_rejection_bounce", "yes", "size_limit_552_log", 41),
        ("size_rejection_bounce", "yes", "size_limit_552_log", 24),  # the prose's reply, wrapped over two lines
    }
    assert {f.extractor for f in found} == {"dsn", "smtp_reply"}
    assert to_evidence(found)[0] == {"size_rejection_bounce": "yes"}


def test_dsn_folded_diagnostic_code_is_unfolded(kb: KnowledgeBase) -> None:
    found = found_in(kb, "bounces/delay_4_4_2.eml")
    diagnostic = next(f for f in found if f.signature_id == "dsn_postfix_body_timeout")
    assert diagnostic.line_number == 34
    assert diagnostic.source_line.endswith("timed out while sending message body")
    assert ("data_phase_timeout_logged", "yes", "dsn_status_4_4_2", 33) in keys(found)


def test_dsn_dmarc_rejection(kb: KnowledgeBase) -> None:
    assert keys(found_in(kb, "bounces/dmarc_5_7_1.eml")) == {
        ("spf_dmarc_fail_in_headers", "yes", "auth_failure_prose", 8),  # "... failed DMARC authentication."
        ("policy_reject_logged", "yes", "dsn_status_5_7_x", 18),
        ("spf_dmarc_fail_in_headers", "yes", "spf_dmarc_rejection", 20),  # folded over three lines
        ("policy_reject_logged", "yes", "policy_rejection_wording", 20),  # "550-5.7.26 ... DMARC policy"
        ("spf_dmarc_fail_in_headers", "yes", None, 20),  # Gmail's reading of 5.7.26 "Unauthenticated"
        ("spf_dmarc_fail_in_headers", "yes", "spf_dmarc_refusal_wording", 20),  # the wording family, same fact
        ("failures_are_temporary", "no", "failure_permanent_status", 18),  # Status: 5.7.1
        ("failures_are_temporary", "no", "failure_permanent_log", 20),  # the 550 in the Diagnostic-Code
    }


def test_dsn_per_recipient_status_codes(kb: KnowledgeBase) -> None:
    assert keys(found_in(kb, "bounces/multi_recipient.eml")) >= {
        ("user_unknown_bounce", "yes", "dsn_status_5_1_1", 30),
        ("quota_exceeded_logged", "yes", "dsn_status_x_2_2", 38),
        ("bounce_host_not_found", "yes", "dsn_status_routing", 46),
        ("bounce_host_not_found", "yes", "host_not_found_bounce", 47),  # folded Diagnostic-Code
    }


def test_zone_apex_on_nameserver(kb: KnowledgeBase) -> None:
    found = found_in(kb, "zones/example.jp.apex_on_ns.zone")
    apex = next(f for f in found if f.question == "bare_domain_a_points_wrong")
    assert (apex.answer, apex.line_number, apex.extractor) == ("yes", 7, "zone_file")
    assert 0.5 < apex.strength < 0.95  # a deliberate one-box site looks the same: soft evidence
    assert ("mx_record_missing_or_wrong", "no", None, 6) in keys(found)


def test_zone_without_the_apex_mistake(kb: KnowledgeBase) -> None:
    found = found_in(kb, "zones/example.jp.good.zone")
    assert keys(found) == {("bare_domain_a_points_wrong", "no", None, 9), ("mx_record_missing_or_wrong", "no", None, 7)}


def test_zone_mx_to_cname_and_to_name_without_address(kb: KnowledgeBase) -> None:
    cname = found_in(kb, "zones/example.org.mx_cname.zone")
    assert keys(cname) == {("mx_record_missing_or_wrong", "yes", None, 5),
                           ("mx_record_missing_or_wrong", "yes", None, 6)}
    assert max(f.strength for f in cname) >= 0.95
    assert to_evidence(cname)[0] == {"mx_record_missing_or_wrong": "yes"}
    no_address = found_in(kb, "zones/example.net.mx_no_address.zone")
    assert keys(no_address) == {("mx_record_missing_or_wrong", "yes", None, 5)}


def test_an_mx_target_written_without_its_final_dot_gets_the_zone_name_twice(kb: KnowledgeBase) -> None:
    """RFC 1035 5.1: ``MX 10 mail.example.org`` in the example.org zone names mail.example.org.example.org.;
    dig shows that doubled name, and a zone file's relative target means the same."""
    dig = "example.org.\t300\tIN\tMX\t10 mail.example.org.example.org.\n"
    assert keys(extract(dig, kb)) == {("mx_record_missing_or_wrong", "yes", None, 1)}
    zone = "$ORIGIN example.org.\n@ 3600 IN MX 10 mail.example.org\nmail 3600 IN A 192.0.2.10\n"
    assert ("mx_record_missing_or_wrong", "yes", None, 2) in keys(extract(zone, kb))
    assert extract("example.org. 300 IN MX 10 mail.example.org.\n", kb) == []
    # a name that merely ends in a one-label owner twice is not the mistake (owners of one label are skipped)
    assert extract("org. 300 IN MX 10 mx.org.org.\n", kb) == []


def test_tracepath_reduced_and_clean(kb: KnowledgeBase) -> None:
    reduced = found_in(kb, "network/tracepath_pmtu_1424.txt")
    assert keys(reduced) == {("path_mtu_reduced", "yes", "tracepath_reduced_pmtu", 4),
                             ("path_mtu_reduced", "yes", "tracepath_reduced_pmtu", 9)}
    assert keys(found_in(kb, "network/tracepath_clean_1500.txt")) == {("path_mtu_reduced", "no", None, 7)}


def test_ping_dont_fragment(kb: KnowledgeBase) -> None:
    assert keys(found_in(kb, "network/ping_df_frag_needed.txt")) == {
        ("path_mtu_reduced", "yes", "ping_frag_needed", n) for n in (3, 4, 5)}
    assert {(f.question, f.answer) for f in found_in(kb, "network/ping_df_ok.txt")} == {("path_mtu_reduced", "no")}
    assert found_in(kb, "network/ping_oversize.txt") == []  # 1528-byte probes fail on any path


def test_postconf_logic(kb: KnowledgeBase) -> None:
    assert keys(found_in(kb, "postconf/size_limits_inconsistent.txt")) == {
        ("config_warnings_logged", "yes", None, 5),  # mailbox_size_limit 20 MB < message_size_limit 50 MB
        ("greylist_deferral_logged", "yes", None, 9),  # postgrey on 127.0.0.1:10023
    }
    assert keys(found_in(kb, "postconf/sasl_relay_broken.txt")) == {
        ("users_cannot_send", "yes", None, 5), ("sasl_auth_errors_logged", "yes", None, 7)}
    assert found_in(kb, "postconf/healthy.txt") == []


def test_mixed_artifacts_in_one_text(kb: KnowledgeBase) -> None:
    parts = ["seed/tracepath.txt", "bounces/size_5_3_4.eml", "seed/example.jp.zone", "postconf/healthy.txt"]
    text = "\n".join((SAMPLES / p).read_text(encoding="utf-8") for p in parts)
    extractors = {f.extractor for f in extract(text, kb)}
    assert extractors >= {"tracepath", "dsn", "zone_file"}


def finding(question: str, answer: str, strength: float) -> ExtractedAnswer:
    return ExtractedAnswer(question, answer, strength, "line", "test", None, 1)


def test_to_evidence_hard_soft_and_conflicts(kb: KnowledgeBase) -> None:
    hard, soft = to_evidence([
        finding("size_rejection_bounce", "yes", 0.97),
        finding("path_mtu_reduced", "yes", 0.9),
        finding("path_mtu_reduced", "yes", 0.6),
        finding("listed_on_dnsbl", "yes", 0.97),
        finding("listed_on_dnsbl", "no", 0.7),
    ], kb)
    assert hard == {"size_rejection_bounce": "yes"}
    by_question = {s.question: s.likelihood for s in soft}
    assert by_question["path_mtu_reduced"] == pytest.approx({"yes": 1.0, "no": 0.1})  # strongest repeat only
    # a contradicted strong finding is not hard: the two combine, (1 - 0.7) : (1 - 0.97)
    assert by_question["listed_on_dnsbl"] == pytest.approx({"yes": 1.0, "no": 0.03 / 0.3})


def test_weak_finding_still_supports_its_answer(kb: KnowledgeBase) -> None:
    _, soft = to_evidence([finding("sasl_auth_errors_logged", "yes", 0.4)], kb)
    assert soft[0].likelihood["yes"] > soft[0].likelihood["no"]


def test_without_kb_the_vectors_carry_the_same_ratio(kb: KnowledgeBase) -> None:
    found = [finding("path_mtu_reduced", "yes", 0.9), finding("path_mtu_reduced", "no", 0.5)]
    (_, [with_kb]), (_, [without]) = to_evidence(found, kb), to_evidence(found)
    assert with_kb.likelihood["yes"] / with_kb.likelihood["no"] == pytest.approx(
        without.likelihood["yes"] / without.likelihood["no"])


def test_typed_answers_override_extracted_ones(kb: KnowledgeBase) -> None:
    hard, soft = to_evidence([finding("size_rejection_bounce", "yes", 0.97), finding("path_mtu_reduced", "yes", 0.9)])
    evidence = build_evidence(kb, {**hard, "size_rejection_bounce": "no", "path_mtu_reduced": "no"}, soft=soft)
    assert evidence.answers == {"size_rejection_bounce": "no", "path_mtu_reduced": "no"}
    assert evidence.soft == {}


def test_redact_replaces_addresses_only() -> None:
    line = "from=<tanaka@partner.example> to=<sato@example.jp> relay=mx1.example.jp[192.0.2.25]:25"
    assert redact(line) == "from=<<redacted>> to=<<redacted>> relay=mx1.example.jp[192.0.2.25]:25"


def test_cli_extract_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["extract", "--kb", "mail_delivery", str(SAMPLES / "seed" / "maillog"),
                                      str(SAMPLES / "seed" / "tracepath.txt"), "--format", "json", "--redact"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"kb", "answers", "evidence", "unmatched"}
    assert set(document["kb"]) == {"id", "version", "hash"}
    row = document["answers"][0]
    assert set(row) == {"question", "answer", "strength", "source_line", "line", "extractor", "signature",
                        "reply_code", "file"}
    assert not any("@" in r["source_line"] for r in document["answers"])
    soft = {s["question"]: s["likelihood"] for s in document["evidence"]["soft"]}
    assert soft["path_mtu_reduced"] == pytest.approx({"yes": 1.0, "no": 0.1})


def test_cli_extract_missing_file_is_a_json_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["extract", "--kb", "mail_delivery", str(tmp_path / "nope.log"), "-f", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["type"] == "file_not_found"
    result = CliRunner().invoke(app, ["extract", "--kb", "mail_delivery", str(tmp_path), "-f", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["type"] == "not_a_file"


def test_every_signature_is_applied_by_some_family(kb: KnowledgeBase) -> None:
    from engine.evidence.detect import SIGNATURE_EXTRACTORS

    assert {s.extractor for s in kb.signatures.values()} <= SIGNATURE_EXTRACTORS


def test_every_signature_matches_a_sample_line(kb: KnowledgeBase) -> None:
    """Each pattern is exercised by a realistic line somewhere in data/samples."""
    seen = {f.signature_id for path in SAMPLES.rglob("*") if path.is_file()
            for f in extract(path.read_text(encoding="utf-8"), kb)}
    untested = sorted(set(kb.signatures) - seen)
    assert untested == [], f"signatures with no sample line: {untested}"


def test_prefilter_rejoins_a_prefix_the_parser_factored_out() -> None:
    assert required_literals(r"\bstatus=(?:deferred|bounced)\b") == (
        frozenset({"status=deferred", "status=bounced"}), False)
    assert required_literals(r"abc(?:\d|x)") == (frozenset({"abc"}), False)  # no literal after the prefix


def test_haystack_finds_a_literal_among_the_lines_of_one_it_contains() -> None:
    texts = [f"Nov 28 10:00:{n:02d} mx postfix/smtpd[1]: connect from unknown[203.0.113.{n}]" for n in range(40)]
    texts[7] = "Nov 28 10:00:07 mx postfix/smtp[2]: connect to mx.example[192.0.2.1]:25: Connection refused"
    texts[21] = "Nov 28 10:00:21 mx postfix/smtpd[1]: warning: refused: CONNECTION REFUSED here"
    texts[30] = "refused by policy"
    lines = [Line(n + 1, text) for n, text in enumerate(texts)]
    narrowed = Haystack(lines)
    assert narrowed.containing(["refused"]) == [7, 21, 30]
    assert narrowed.containing(["connection refused"]) == [7, 21]  # searched among those three lines
    assert Haystack(lines).containing(["connection refused"]) == [7, 21]  # the same as a full search


def test_haystack_of_a_long_log_finds_what_a_plain_search_finds() -> None:
    """Past a megabyte the haystack rules out literals by a trigram index: it must never rule out one
    that occurs (non-ASCII, at the very start or end of the text), and finds the same lines as ``in``
    for every literal."""
    texts = [f"Nov 28 10:{n // 60 % 60:02d}:{n % 60:02d} mx postfix/smtpd[{n}]: connect from "
             f"unknown[198.51.100.{n % 250}]" for n in range(20_000)]
    texts[0] = "Größe überschritten: 552 5.3.4 message too big"
    texts[12_345] = "Nov 28 11:00:00 mx postfix/smtp[9]: 送信できません timeout after DATA"
    texts[-1] = "the last line ends with xyzzy"
    lines = [Line(n + 1, text) for n, text in enumerate(texts)]
    haystack = Haystack(lines)
    assert len(haystack.lowered) > 1 << 20
    for needle in ["größe überschritten", "送信できません", "timeout after data", "xyzzy", "connect from",
                   "no such literal anywhere", "10:0", "ab"]:
        expected = [n for n, text in enumerate(texts) if needle in text.lower()]
        assert haystack.containing([needle]) == expected, needle


def test_a_warn_only_rejection_answers_nothing_and_is_listed(kb: KnowledgeBase) -> None:
    """Postfix's reject_warning (warn_if_reject) logs the reply it would have sent and sends none: the
    line proves no rejection, so it gives no answer, but it is not silently dropped either."""
    line = ("Dec  4 11:06:00 mx1 postfix/smtpd[3100]: NOQUEUE: reject_warning: RCPT from c.example[192.0.2.1]: "
            "554 5.7.1 <a@c.example>: Sender address rejected: Access denied; proto=ESMTP helo=<c.example>")
    result = read(line, kb)
    assert result.found == []
    assert [u.line_number for u in result.unmatched] == [1]
