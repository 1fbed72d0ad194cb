""""Check a fix" on an anecdote: the words people use, in English and in Japanese, name the fix."""

from __future__ import annotations

import pytest

from engine.kb.validate import load_kb
from engine.reason.fixes import match_fix_text
from engine.service import Service

PACK = "mail_delivery"


@pytest.mark.parametrize(("anecdote", "fix"), [
    ("サーバーを作り直したら直りました", "rebuild_mail_server"),
    ("メールサーバを一から作り直したら、Webサーバが動かなくなった", "rebuild_mail_server"),
    ("Postfixを再起動したら直った", "restart_postfix"),
    ("メールサーバーを再起動したら届くようになった", "reboot_server"),
    ("MTUを1400に下げたら解決した", "lower_mtu_or_clamp_mss"),
    ("ルーターでMSSをクランプしたら添付ファイルが届いた", "lower_mtu_or_clamp_mss"),
    ("DNSキャッシュをクリアしたら届くようになった", "flush_dns_cache"),
    ("ファイアウォールでICMPを許可したら直りました", "allow_icmp_frag_needed"),
    ("送信元をホワイトリストに登録したら届いた", "whitelist_sender"),
    ("TLSを無効にしたら送れた", "disable_tls"),
    ("サイズ制限を引き上げたら添付が届いた", "raise_message_size_limit"),
    ("ＩＰｖ６を無効にしたら解決", "disable_ipv6"),
    ("lowered the MTU and it worked", "lower_mtu_or_clamp_mss"),
    ("I rebuilt the whole server and it worked", "rebuild_mail_server"),
])
def test_anecdotes_name_their_fix_in_japanese_and_english(anecdote: str, fix: str) -> None:
    matches = match_fix_text(load_kb(PACK), anecdote)
    assert matches and matches[0][0] == fix, matches


@pytest.mark.parametrize("anecdote", [
    "コーヒーメーカーを再起動した",
    "昨日は雨でした",
    "特に何もしていません",
    "",
])
def test_japanese_text_naming_no_fix_matches_none(anecdote: str) -> None:
    assert match_fix_text(load_kb(PACK), anecdote) == []


def test_a_japanese_anecdote_is_assessed_like_an_english_one() -> None:
    evidence = {"attachment_mail_fails": "yes", "single_sender_affected": "yes", "config_stable_long": "yes"}
    japanese = Service().assess(PACK, evidence, text="サーバを作り直したら直った", lang="ja")
    english = Service().assess(PACK, evidence, text="I rebuilt the whole server and it worked")
    assert japanese.in_knowledge_base and japanese.fix is not None and japanese.fix.id == "rebuild_mail_server"
    assert japanese.p_resolves == english.p_resolves
