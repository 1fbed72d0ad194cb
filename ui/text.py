"""Interface labels in English and Japanese.

The knowledge pack carries its own texts in both languages; these are only the words around them
(buttons, headings), kept in one table so a missing translation falls back to English instead of
showing a key.
"""

from __future__ import annotations

LANGUAGES: dict[str, str] = {"en": "English", "ja": "日本語"}

_LABELS: dict[str, dict[str, str]] = {
    "diagnose": {"en": "Diagnose", "ja": "診断"},
    "check_fix": {"en": "Check a fix", "ja": "対処法の確認"},
    "cases": {"en": "Cases", "ja": "事例"},
    "knowledge": {"en": "Knowledge base", "ja": "知識ベース"},
    "quality": {"en": "Quality", "ja": "品質"},
    "helpdesk_pages": {"en": "Helpdesk", "ja": "ヘルプデスク"},
    "author_pages": {"en": "Authors", "ja": "作成者"},
    "sign_out": {"en": "Sign out (author)", "ja": "サインアウト(作成者)"},
    "pack": {"en": "Knowledge pack", "ja": "知識パック"},
    "language": {"en": "Language", "ja": "言語"},
    "role": {"en": "I am", "ja": "担当"},
    "role_helpdesk": {"en": "helpdesk", "ja": "ヘルプデスク"},
    "role_admin": {"en": "admin", "ja": "管理者"},
    "role_network": {"en": "network team", "ja": "ネットワーク担当"},
    "session": {"en": "session", "ja": "セッション"},
    "new_diagnosis": {"en": "New diagnosis", "ja": "新しい診断"},
    "next_question": {"en": "Next question", "ja": "次の質問"},
    "how_to_check": {"en": "How to check", "ja": "確認方法"},
    "minutes": {"en": "min", "ja": "分"},
    "asked_by": {"en": "can be answered by", "ja": "回答できる担当"},
    "yes": {"en": "Yes", "ja": "はい"},
    "no": {"en": "No", "ja": "いいえ"},
    "unknown": {"en": "Don't know", "ja": "わからない"},
    "skip": {"en": "Skip for now", "ja": "後で"},
    "undo": {"en": "Undo last answer", "ja": "直前の回答を取り消す"},
    "why": {"en": "Why this question", "ja": "この質問の理由"},
    "why_apart": {"en": "this tells apart the leading causes {causes}.",
                  "ja": "有力な原因({causes})を見分けられます。"},
    "why_apart_more": {"en": "this tells apart the leading causes {causes} (and {more} more).",
                       "ja": "有力な原因({causes}、ほか{more}件)を見分けられます。"},
    "why_one": {"en": "this confirms or rules out {cause}.", "ja": "{cause}かどうかを確かめられます。"},
    "why_little": {
        "en": "its answer changes little on its own; skip it if it is slow to check.",
        "ja": "この回答だけでは大きく変わりません。確認に時間がかかるなら後回しにしてください。",
    },
    "and": {"en": " and ", "ja": "と"},
    "handoff": {"en": "Hand off to another team", "ja": "他の担当に依頼"},
    "handoff_help": {
        "en": "These questions would help most but need another team. Send them over, then record the reply.",
        "ja": "次の質問は有用ですが、他の担当者の確認が必要です。依頼して、返答をここに記録してください。",
    },
    "record_reply": {"en": "Record their reply", "ja": "返答を記録"},
    "no_questions": {
        "en": "No further suggestions for this role: hand off, record a known answer, or bring back skipped questions.",
        "ja": "この担当への提案はもうありません。"
        "依頼するか、既知の回答を記録するか、後回しにした質問を戻してください。",
    },
    "unskip": {"en": "Bring back skipped questions", "ja": "後回しにした質問を戻す"},
    "ranking": {"en": "Most likely causes", "ja": "可能性の高い原因"},
    "leading": {"en": "Leading cause", "ja": "最有力の原因"},
    "combinations": {"en": "Most probable combinations", "ja": "可能性の高い組み合わせ"},
    "none_of_leading": {"en": "(none of the leading causes)", "ja": "(上位の原因なし)"},
    "evidence_weights": {"en": "What each answer says", "ja": "各回答の証拠の重み"},
    "answers_given": {"en": "Answers so far", "ja": "これまでの回答"},
    "answered_count": {"en": "{count} answered", "ja": "{count}件回答済み"},
    "source": {"en": "Read from", "ja": "根拠"},
    "cause": {"en": "Cause", "ja": "原因"},
    "probability": {"en": "Probability", "ja": "確率"},
    "together": {"en": "Causes present together", "ja": "同時に起きている原因"},
    "action": {"en": "Action", "ja": "対処"},
    "minutes_long": {"en": "Minutes", "ja": "所要時間(分)"},
    "no_answers": {"en": "No answers yet.", "ja": "まだ回答はありません。"},
    "act_on": {"en": "Enough evidence: act on {cause}.",
               "ja": "十分な証拠があります。「{cause}」への対処に進んでください。"},
    "barely_move": {
        "en": "The answers so far barely move the usual causes, so the ranking is still mostly how common each "
              "cause is. Answer the checklist above or the next question.",
        "ja": "これまでの回答では、よくある原因の順位はほとんど変わっていません。"
              "今の順位は主に各原因の起こりやすさです。上のチェックリストか次の質問に答えてください。",
    },
    "barely_move_stopped": {
        "en": "The answers so far barely move the usual causes, and no question for this role would change that "
              "much. Answer the checklist above, hand a question over to another team, or record what you know.",
        "ja": "これまでの回答では、よくある原因の順位はほとんど変わっておらず、この担当が答えられる質問でも大きくは"
              "変わりません。上のチェックリストに答えるか、他の担当に依頼するか、分かっていることを記録してください。",
    },
    "leaning": {
        "en": "The answers point towards {cause}, not yet firmly: answer the next question.",
        "ja": "回答は「{cause}」を示していますが、まだ確かではありません。次の質問に答えてください。",
    },
    "actions": {"en": "Recommended actions, in order", "ja": "推奨される対処(順番に)"},
    "no_actions": {
        "en": "No fix in this knowledge base is likely enough to recommend for it: hand it to the team that owns it.",
        "ja": "この知識ベースには推奨できるほど有効な対処がありません。担当のチームに引き継いでください。",
    },
    "details": {"en": "Details: numbers and ids", "ja": "詳細(数値とID)"},
    "unmodelled": {
        "en": "Something the knowledge base does not cover: {percent} %",
        "ja": "知識ベースにない原因の可能性: {percent} %",
    },
    "stop_rule": {"en": "Stop rule", "ja": "停止規則"},
    "weights_help": {
        "en": "Weight of evidence in bits for each leading cause: + speaks for it, − against it; each bit doubles "
              "the odds.",
        "ja": "上位の原因ごとの証拠の重み(ビット)。+は支持、−は反対を示し、1ビットでオッズが2倍になります。",
    },
    "not_saved": {
        "en": "Sessions are not being saved (database not available: {problem}).",
        "ja": "セッションは保存されていません(データベースを利用できません: {problem})。",
    },
    "unknown_link": {
        "en": "This diagnosis link is unknown or expired (session {session}); a new one was started.",
        "ja": "この診断のリンク(セッション {session})は見つからないか期限切れです。新しい診断を始めました。",
    },
    "tab_paste": {"en": "Paste logs", "ja": "ログを貼り付け"},
    "tab_known": {"en": "Record a known answer", "ja": "既知の回答を記録"},
    "tab_fix": {"en": "I tried a fix", "ja": "対処を試した"},
    "tab_resolve": {"en": "Resolve", "ja": "解決"},
    "tab_ticket": {"en": "Copy as Markdown", "ja": "Markdownでコピー"},
    "paste_label": {
        "en": "Logs, bounce messages, zone files or tool output",
        "ja": "ログ、バウンスメール、ゾーンファイル、コマンド出力",
    },
    "extract": {"en": "Find answers", "ja": "回答を抽出"},
    "apply_found": {"en": "Use these answers", "ja": "この回答を使う"},
    "nothing_found": {
        "en": "Nothing in this text answers a question, and no line in it looks like an error.",
        "ja": "このテキストには質問に答える内容がなく、エラーらしい行もありません。",
    },
    "not_understood": {"en": "These lines were not understood", "ja": "これらの行は理解できませんでした"},
    "not_understood_hint": {
        "en": "They look like errors, but no signature or reply code of this pack explains them. Answer the "
              "questions yourself, and pass the lines to the knowledge-base authors.",
        "ja": "エラーのように見えますが、このパックのどのシグネチャや応答コードでも説明できません。質問にはご自身で"
              "回答し、これらの行をナレッジベースの作成者に伝えてください。",
    },
    "question": {"en": "Question", "ja": "質問"},
    "no_extraction": {"en": "Evidence extraction (engine.evidence) is not available in this installation.",
                      "ja": "この環境では証拠の抽出(engine.evidence)を利用できません。"},
    "paste_help": {
        "en": "Each answer below was read from the line shown. Untick what you doubt and change an answer when you "
              "know better; lines marked weak are also produced by other faults.",
        "ja": "各回答は表示された行から読み取ったものです。疑わしいものはチェックを外し、違う回答は直してください。"
              "「弱い」の行は他の障害でも出ます。",
    },
    "strength": {"en": "Strength", "ja": "強さ"},
    "strength_help": {"en": "how much likelier the line is under this answer",
                      "ja": "この回答のとき、この行がどれだけ出やすいか"},
    "weak": {"en": "Weak", "ja": "弱い"},
    "line": {"en": "Line", "ja": "行"},
    "resolve_needs_db": {"en": "Saving draft cases needs the database, which is not available: {problem}",
                         "ja": "下書き事例の保存にはデータベースが必要ですが、利用できません: {problem}"},
    "saved_draft": {
        "en": "Saved draft case `{case}`. An author reviews it on the Cases page before learning uses it.",
        "ja": "下書き事例 `{case}` を保存しました。学習に使う前に、作成者が事例ページで確認します。",
    },
    "resolve_first": {"en": "Answer at least one question before resolving.",
                      "ja": "解決として記録する前に、少なくとも1つの質問に答えてください。"},
    "causes_complete": {"en": "These are all the causes that were present", "ja": "起きていた原因はこれですべてです"},
    "causes_complete_help": {
        "en": "tick only when the others were ruled out; learning then counts them as absent",
        "ja": "他の原因を除外できた場合だけチェックしてください。学習では他の原因がなかったものとして扱います。",
    },
    "case_title": {"en": "Title", "ja": "件名"},
    "choose_cause": {"en": "Choose at least one confirmed cause.", "ja": "確定した原因を少なくとも1つ選んでください。"},
    "answer": {"en": "Answer", "ja": "回答"},
    "record": {"en": "Record", "ja": "記録"},
    "fix": {"en": "Fix", "ja": "対処"},
    "outcome": {"en": "Afterwards the problem", "ja": "その後の状況"},
    "persisted": {"en": "persisted", "ja": "続いた"},
    "stopped": {"en": "stopped", "ja": "止まった"},
    "unclear": {"en": "unclear", "ja": "不明"},
    "add_attempt": {"en": "Add attempt", "ja": "追加"},
    "remove": {"en": "Remove", "ja": "削除"},
    "fixes_tried": {"en": "Fixes tried", "ja": "試した対処"},
    "confirmed": {"en": "Confirmed causes", "ja": "確定した原因"},
    "resolution": {"en": "What fixed it", "ja": "解決方法"},
    "reference": {"en": "Ticket id or URL", "ja": "チケットIDまたはURL"},
    "your_name": {"en": "Your name", "ja": "名前"},
    "save_draft": {"en": "Save as draft case", "ja": "下書き事例として保存"},
    "ticket_help": {
        "en": "Use the copy button at the top right of the block.",
        "ja": "ブロック右上のコピーボタンを使ってください。",
    },
    "assess": {"en": "Assess", "ja": "評価"},
    "known_fix": {"en": "A known fix", "ja": "既知の対処"},
    "suggestion_text": {"en": "A suggestion, as text", "ja": "提案(テキスト)"},
    "suggestion_label": {
        "en": "Paste the suggestion (forum answer, colleague's advice)",
        "ja": "提案を貼り付け(掲示板の回答、同僚の助言など)",
    },
    "verdict": {"en": "Verdict", "ja": "判定"},
    "verdict_likely": {"en": "{fix} is likely to resolve this ({percent} %).",
                       "ja": "「{fix}」で解決する可能性が高いです({percent} %)。"},
    "verdict_maybe": {"en": "{fix} may resolve this ({percent} %), but it is far from certain.",
                      "ja": "「{fix}」で解決するかもしれません({percent} %)が、確実ではありません。"},
    "verdict_unlikely": {"en": "{fix} is unlikely to resolve this ({percent} %): the evidence points elsewhere.",
                         "ja": "「{fix}」で解決する可能性は低いです({percent} %)。証拠は別の原因を示しています。"},
    "verdict_better": {"en": " Better first: {fix} ({percent} % in about {minutes} minutes).",
                       "ja": "先に「{fix}」を試してください(約{minutes}分で{percent} %)。"},
    "read_as": {"en": "Read as", "ja": "解釈した対処"},
    "downtime": {"en": "Downtime", "ja": "停止時間"},
    "collateral": {"en": "Expected collateral repair", "ja": "想定される巻き添えの復旧時間"},
    "reversible": {"en": "reversible", "ja": "元に戻せます"},
    "not_reversible": {"en": "not reversible", "ja": "元に戻せません"},
    "may_break": {"en": "May break", "ja": "影響を受ける可能性"},
    "no_alternative": {"en": "No alternative is likely enough yet: answer more questions on the Diagnose page.",
                       "ja": "まだ有力な代替案はありません。診断ページで質問に答えてください。"},
    "risk_minutes": {"en": "Risk (min)", "ja": "リスク(分)"},
    "often_suggested": {"en": "often suggested", "ja": "よく勧められる"},
    "no_answers_priors": {"en": "no answers yet (how common each cause is)",
                          "ja": "まだ回答はありません(各原因の起こりやすさのみ)"},
    "suggestion_placeholder": {"en": "Your postfix config must be broken: rebuild the mail server from scratch.",
                               "ja": "postfixの設定が壊れているはずです。メールサーバーを一から作り直してください。"},
    "paste_first": {"en": "Paste the suggestion first.", "ja": "先に提案を貼り付けてください。"},
    "fix_answers_first": {"en": "Fix the answers on the Diagnose page first.",
                          "ja": "先に診断ページで回答を直してください。"},
    "evidence_changed": {"en": "The evidence changed since this assessment; assess again to update it.",
                         "ja": "評価の後に証拠が変わりました。もう一度評価してください。"},
    "p_resolves": {"en": "P(resolves)", "ja": "解決確率"},
    "reasons": {"en": "Reasons", "ja": "理由"},
    "check_first": {"en": "Check these first", "ja": "先に確認すること"},
    "risk": {"en": "Risk", "ja": "リスク"},
    "alternatives": {"en": "Better alternatives", "ja": "より良い代替案"},
    "against": {"en": "Judged against the current diagnosis", "ja": "現在の診断に基づく判定"},
    "compiling": {
        "en": "Weighing the fix against your evidence (the first assessment compiles models: a few seconds)…",
        "ja": "証拠に基づいて対処を評価しています(初回はモデルの準備に数秒かかります)…",
    },
    "thinking": {"en": "Updating the ranking…", "ja": "ランキングを更新しています…"},
    "intake": {"en": "What the caller says", "ja": "問い合わせの内容"},
    "intake_label": {
        "en": "The complaint in the caller's own words (English or Japanese)",
        "ja": "問い合わせ内容をそのまま(日本語または英語)",
    },
    "intake_placeholder": {
        "en": "Mail with attachments from one university does not arrive; plain mail from them arrives; …",
        "ja": "ある大学からの添付ファイル付きメールが届きません。本文だけのメールは届きます。…",
    },
    "intake_read": {"en": "Read the complaint", "ja": "内容から回答を読み取る"},
    "intake_nothing": {
        "en": "Nothing in the text answers a question of this pack; use the checklist or the questions below.",
        "ja": "この文章から読み取れる回答はありませんでした。チェックリストか下の質問を使ってください。",
    },
    "intake_confirm_help": {
        "en": "Proposed answers, each with the words it was read from. Nothing counts until you confirm: "
              "untick what the caller did not say and correct an answer when it is wrong.",
        "ja": "読み取った回答の候補と、その根拠になった語句です。確定するまで診断には使われません。"
              "言っていないことはチェックを外し、違う回答は直してください。",
    },
    "intake_use_help": {"en": "untick to leave this answer out", "ja": "チェックを外すとこの回答は使いません"},
    "intake_answer_help": {"en": "correct the answer if it is wrong", "ja": "違う場合は回答を直してください"},
    "intake_words_help": {"en": "the words the answer was read from", "ja": "回答の根拠になった語句"},
    "use": {"en": "Use", "ja": "使う"},
    "words": {"en": "The caller's words", "ja": "問い合わせの語句"},
    "intake_confirm": {"en": "Confirm these answers", "ja": "この回答で確定"},
    "intake_unmatched": {"en": "Nothing was read from:", "ja": "読み取れなかった部分:"},
    "intake_checklist": {
        "en": "Quick checklist: what the caller can tell at once",
        "ja": "チェックリスト(問い合わせ者がすぐ答えられること)",
    },
    "intake_checklist_record": {"en": "Record the checked answers", "ja": "選んだ回答を記録"},
}


def t(key: str, lang: str) -> str:
    """The label in ``lang``, else English; an unknown key is a programming error, so it raises."""
    entry = _LABELS[key]
    return entry.get(lang) or entry["en"]
