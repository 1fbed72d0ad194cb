"""Intake: a complaint in the person's own words becomes *proposed* answers to the pack's questions.

A helpdesk session starts from what the caller already said ("attachments from one university do
not arrive, plain mail does"). Reading that into answers must never invent evidence: a wrong answer
entered up front misleads every later question. So the reading is deliberately narrow:

- The text is cut into sentences and clauses (``;`` ``,`` ``:``, parentheses, "but", "and", "though", "except",
  。、が、けど、ので、だけで、…; でも only where it opens a clause, not in スマホでもPCでも), never inside quotes
  (a quoted log line is one unit) nor inside a cue phrase ("comes and goes"), and every clause is judged
  on its own. A line break ends a sentence, unless it only wraps a long line of prose that goes on in
  the next line, as mail clients and ticket forms wrap text (``_soft_wrap``).
- Each clause is matched against the pack's cue phrases (``intake.yaml``: *terms*, each with
  phrases and, for the words that state it negated, opposite phrases). Overlapping matches keep the
  longest, so "mail without attachments" is plain mail and not an attachment.
- Negations flip the term they govern: in English the next term (the next predicate when more
  than one word lies between: "have not seen the firewall flag them"), in Japanese the previous one
  (届かない, 変更していません). "no"/"nothing" govern the nearest predicate ("no mail arrives"). An
  English "n't" at the end of a clause, or before the mail it elides ("…, but not the ones with
  attachments"), negates the verb the clause left out; a bare auxiliary at the end ("…, plain mail
  does", "everyone else can") repeats that verb without its negation. In Japanese, 一通も agrees
  with the verb's own negation (一通も届きません) and flips nothing. An English "not" inside a Japanese clause (a quoted
  log line) negates only the English words after it.
- Hedged clauses ("maybe", "not sure", かもしれ, "if") and questions ("is it the firewall?",
  届きますか) state nothing, except questions asking why ("why don't attachments arrive?"). A
  sentence ending in doubled marks ("it just disappears??") asks only when worded as a question.
  A hedged clause lends no verb to the clauses after it, and passes on none from before it.
- A Japanese verb that modifies a noun through auxiliaries (送ってもらってる資料) or before はず
  (届くはずのメール) names which mail is meant and is not the clause's predicate.
- A Japanese hedge governs its own clause's predicate only: a relative clause before the noun it
  describes, with that noun, is cut off and read as stated (5年間問題なく動いていたpostfixの設定を疑って
  still says the configuration ran without trouble for five years).
- A *rule* proposes ``question=answer`` when its conditions hold in one clause; a clause that says
  both "X" and "not X" decides nothing about X. A rule may also ask that another stated clause of the
  text say something (``elsewhere``), for questions with two halves said apart: "nobody can send.
  Receiving is fine." is only outgoing mail failing. Conflicting proposals for one question are settled
  by rule priority, and a tie proposes nothing.
- A clause without a predicate borrows the previous clause's ("attachments fail, but plain mail
  does"), or joins the next clause when that one has the predicate ("mail with attachments,
  sent from one partner, does not arrive"), passing over asides without a predicate ("mail from
  univ X (their MX 203.0.113.25) with attachments stalls"). A clause naming other senders but not which mail takes the
  subject of the previous one ("from other universities they arrive fine").
  A Japanese clause that ends on an inflected verb the phrases do not know (読めています,
  試していません) has a predicate of its own and borrows none. A half-width "?" ends a Japanese
  sentence even without a space after it.
- An English pronoun ("Those never arrive.", "we are not getting them"; not after a preposition) or a
  bare "nothing" in a clause without mail of its own stands for the mail the clause before carried.
  A pasted log line, or a clause that reports a command run (``ping -M do -s 1472`` で失敗), borrows
  no carried subject: it says what one session or one test printed.

- A log line or bounce the person pasted (a reply code, a log field, a process tag, an indented
  block or a long quote) is also read by the log reader (``engine.evidence``): its findings of at
  least ``PASTED_STRENGTH`` are proposed for questions the phrases left alone, unless the prose of
  the line's own sentence denies, doubts or asks about it ("no 'timeout after DATA' in the log").

Every answer carries ``matched``, the exact span of the text it came from; clauses that gave no
answer are listed in ``unmatched``, so the person sees what was read and what was not.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from engine.kb.intake_phrases import normalise, phrase_pattern
from engine.kb.knowledge import KnowledgeBase
from engine.kb.schema import IntakeFile, IntakeRule

MAX_INTAKE_CHARS = 20_000
"""Longer texts are refused: a complaint is a few sentences; whole logs go to ``extract``."""

PASTED_STRENGTH = 0.8
"""A log line or bounce pasted into a complaint proposes what the log reader (``engine.evidence``)
finds in it at least this strongly (see ``_pasted_findings``)."""
_PASTED_QUOTE = re.compile(r'"[^"\n]{8,}"|“[^”\n]{8,}”|「[^」\n]{8,}」|『[^』\n]{8,}』')
_PASTED_MARK = re.compile(
    r"\b[245]\d\d[ -]#?[245]\.\d{1,3}\.\d{1,3}|\b[45]\d\d[ -]|status=|postfix/|\bexim|\bNOQUEUE\b|\bsaid:"
    r"|\[\d{1,3}(?:\.\d{1,3}){3}\]|^\s*[a-z]{3} +\d{1,2} \d\d:\d\d|^\s{2,}\S|^\s*\$ |<[^>@\s]+@[^>\s]+>|\w\[\d+\]:",
    re.IGNORECASE,
)
"""What makes a line pasted rather than written: a reply code, a log field or time stamp, a
process tag (``smtp[4411]:``), an address in angle brackets, a bracketed IP, an indented block or a
shell prompt; or a quoted span of some length."""
_PASTED_DOUBT = re.compile(
    r"\b(?:no|not|never|nothing|none|nor|without|whether|if|maybe|might|perhaps|probably|possibly|think|guess"
    r"|suspect|wonder|would|could|should)\b|n't\b|[?？]|ない|無し|なし|ません|かどうか|かも|でしょうか|気が|と思|らしい|はず|ず[、。]",
    re.IGNORECASE,
)
"""Words in the prose around a pasted line that deny, doubt or ask about it ("no 'timeout after DATA'
in the log", 「…の類は無し」, "whether our IP is on a blocklist"): then the line is not a finding."""

_QUOTES = re.compile(r"""(?<![a-z0-9])'[^'\n]{2,}?'(?![a-z0-9])|"[^"\n]+"|“[^”\n]+”|「[^」\n]+」|『[^』\n]+』""")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|[。！？\n]|[!?](?=[\u3040-\u30ff\u3400-\u9fff])")
_LINE_OPENER = re.compile(
    r"[ \t]*(?:[-*•・>#|\[]|\d{1,2}[.)]\s|[a-z][\w-]{0,20}:\s|\d{4}-\d\d-\d\d|[a-z]{3} +\d{1,2} \d\d:"
    r"|(?:\S{1,20} )?\d{1,2}:\d\d\b)"
)
"""How a line opens when it starts something of its own: a list item, a quote, a header field
("Subject:"), a chat line's "[09:02]" or "高橋 9:30", a log line's time stamp. Such a line is never
the wrapped rest of the line before."""
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*•・]|\d{1,2}[.)])\s")
"""A list item's bullet or number: its text may wrap onto indented lines ("- Messages carrying
attachments do not arrive. Text-only" / "  messages from the same people do arrive")."""
_WRAP_WIDTH = {False: 45, True: 25}
"""Shortest line (characters; Japanese lines by characters too) taken to be wrapped prose, not a line
of its own: mail clients wrap at 72-78 columns, and a bare short line ("To: network team",
「添付付きが届かない」) is a fragment that stands alone."""
_CONTRASTIVE = re.compile(
    r"\b(?:but|even though|even if|though|although|however|whereas|yet|except(?: that| for)?|apart from|other than)\b"
    r"|\bwhile\b(?! (?:sending|receiving|transferring|waiting|connecting|delivering|reading|writing|being"
    r"|it|its|it's|the (?:message|mail|body|data|transfer|connection))\b)"
    r"|けれども|けれど|けど|(?:それ)?なのに|のに|しかし|(?<![^\s。、，,])でも|ただし"
    r"|(?<=ます)が|(?<=です)が|(?<=ない)が|(?<=ません)が|(?<=でした)が|(?<=[たるく])が"
)
_CLAUSE_BREAK = re.compile(
    r"[;；,()（）]|(?<![はがをにでもへとや])[、，]"  # a Japanese comma after a particle continues the clause
    r"|:(?=\s)|：|\s[-–—]+\s|\b(?:and|so|because)\b|ので(?!す|しょう|は(?:ない|なかろう))|から、|し、|(?<=だけ)で、|(?<=のみ)で、|(?<=まま)で、"
    # "大きいメールだけがだめで、小さいメールは届いている": a verdict in the te-form ends its clause
    r"|(?<=だめ)で、|(?<=ダメ)で、|(?<=駄目)で、|(?<=無理)で、"
)
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_QUOTED_QUESTION = re.compile(
    r"""(?<![a-z0-9])'[^'\n]{2,}?\?+'(?![a-z0-9])|"[^"\n]+?\?+"|"""
    r"""“[^”\n]+?\?+”|「[^」\n]+?(?:\?+|？|か)」"""
)
"""A question someone asked, quoted inside a statement (she wrote "did you get the files??"): it asks, it
states nothing about the mail."""
_QUOTED_NAME = re.compile(r"「[^」\n]+」(?=の[^。、\n]{0,6}?メール|と題)")
"""A Japanese quotation that names a mail by its words (彼の「ファイルを送ります」の短いメール): what it
says is the mail's text, not a statement about the mail. A quoted error or log line (「552 5.3.4 …」という
エラー) is evidence and stays."""
_CONDITIONAL = re.compile(r"^\W*(?:when|whenever|every time|each time|any time|anytime)\b")
"""An English clause that opens a condition ("when they send us a file, it never arrives") says what is
tried, not what happened: its words go with the clause that says what happened."""
_TIME_CLAUSE = re.compile(
    r"^\W*(?:ever since|since|after|before|until|till)\b(?!\s+(?:~|about |around |approx\.? |approximately |roughly |"
    r"early |mid[- ]?|late |the (?:start|end|beginning|middle) of |last |this |yesterday|today|\d|"
    r"(?:mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b))"
)
"""An English clause that dates what follows ("Since we moved mail over to the new droplet, nothing we
send leaves the box") lends its verb to nothing: the move is when, not what the next clause denies. A
date is no such clause: in "since ~Nov 10 mails with attachments don't reach us; their plain mails do"
the verb is the clause's own and the next clause repeats it."""
_FRONTED_SOURCE = re.compile(r"^\W*(?:from|mail from|e-?mails? from|messages? from)\b")
"""An English clause that puts the senders first ("From other universities and companies, mail with
attachments arrives normally") names whose mail the next clause of the sentence is about."""
_PARTICLE_START = re.compile(r"^(?:は|が|を|も|には|では|からは|からの)(?![\u3041-\u309f])")
"""A Japanese clause that opens on a particle (「大容量メール(10MB超)は、正常に受信している」) goes on
with the noun before the break: the two are one clause."""
_JA_CONDITION_END = re.compile(r"(?:時|とき|際|場合|たら|なら|たところ|た後|たあと|てから)(?:は|に|には|でも)?$")
"""A Japanese clause that ends on a condition or an earlier step (ファイルがない時、メールは届きます;
MTUを1400に下げたところ、添付も届くようになりました) belongs to the clause that says what happens then."""
_LOG_LINE = re.compile(
    r"^[ \t]*(?:[a-z]{3} +\d{1,2} \d\d:\d\d:\d\d|\d{4}-\d\d-\d\d[t ]\d\d:\d\d(?::\d\d)?)", re.MULTILINE
)
"""A pasted log line (syslog or ISO time stamp first) reports one session, not the kind of mail the prose
around it was about, so it borrows no carried subject ("plain mail arrives." then a log line)."""
_TOOL_RUN = re.compile(
    r"\b(?:ping6?|tracepath|traceroute|mtr|telnet|nslookup|swaks|openssl s_client)\s+-?[\w.:]"
    r"|\b(?:dig|nc)\s+(?:[@+-]|[\w-]+\.[\w.-]+)"  # not "dig into the logs"
)
"""A clause that reports a command run (``ping -M do -s 1472 ...`` で失敗) says what a test printed, like a
pasted log line: it borrows no carried subject ("message too long" there is a packet, not the mail)."""
_RESTRICTION = re.compile(r"(?:only|just|solely|merely)\b")
"""A clause after "but" that narrows what was said ("kept losing mails to us, but only the ones carrying
attachments") restates the same verb, it does not contrast with it."""
_COORDINATION = re.compile(r"[\s,]*(?:and|or|as well as|&)\s+(?:from|with|without)\b")
"""The break between two subjects that share the verb after them ("Files from my family and from the
journal come in fine"): the first names more of the mail the verb is about, it borrows no earlier verb.
Only a second subject that opens on its source or its kind is taken so; "…, and I built a new server"
is a clause of its own."""
_PRONOUN = re.compile(r"(?<!from )(?<!to )(?<!of )(?<!with )(?<!by )(?<!for )\b(?:those|these|they|them)\b")
"""A pronoun standing for the mail named before ("Kasumi sends us lab results as attachments. Those never
arrive.", "we are just not getting them"): a clause with a verb and a pronoun but no mail of its own is
about the mail the clause before carried. Not after a preposition: "plain reminders from them" are the
senders' mail, not the mail named before."""
_ONE_WORD_BETWEEN = re.compile(r"^\W*\w*\W*$")
_NEGATIONS = ("negation", "predicate_negation")
_JAPANESE_QUESTION = re.compile(r"(?:か|かな|かね|でしょう)\s*$")
_HIRAGANA = re.compile(r"[\u3041-\u309f]")
_PLAIN_VERB_ENDINGS = "うくぐすつぬぶむるた"
"""Last kana of a Japanese verb's plain (dictionary or past) form, the form that modifies a noun."""
_OKURIGANA = re.compile(r"[\u3041-\u309f]{1,2}(?![\u3041-\u309f])")
"""The kana that inflect a verb after its kanji stem (届く, 届いた): the phrases often match the stem alone."""
_BARE_DOUBT_REST = re.compile(r"[\W_]*(?:(?:まだ|yet|still|as yet|so far)[\W_]*)?")
"""What may remain of a clause besides its hedge when it is only a bracketed doubt ("(still unconfirmed)")."""
_RETRACTION = re.compile(
    r"[\W_]*(?:(?:that|this|it) was(?: (?:all|completely|simply))? (?:wrong|incorrect|not (?:right|true|correct)|"
    r"a mistake|my mistake|our mistake)|scratch that|(?:that'?s |that is |also )?not (?:true|correct)|also no|"
    r"(?:それは|これは|上記は)?(?:誤り|間違い)でした|訂正します)[\W_]*"
)
"""A clause that only takes back what was said before it: "we wrote that all mail was lost. That was
wrong.", 「全部届かないと書きましたが誤りでした」, or a colleague's line in a transcript ("Greg: nothing
arrives. Aiko: Not true, their short mails arrive"). Not "that is wrong", which more often disputes a
bounce's claim ("it says user unknown. That is wrong"), which still happened."""
_DOUBT_NOUN = re.compile(r"可能性|恐れ|疑い|見込み|予感|懸念")
"""A noun whose relative clause is the doubt itself: 攻撃と判定している可能性がある says only that the
IDS *may* have flagged it, so the clause before it is not cut off as stated."""
_CASE_PARTICLE = re.compile(r"[をがはもにへでと]")
"""The particle that ends the noun a relative clause describes (設定を, 設定が)."""
_KANA_RUN = re.compile(r"[\u3041-\u309f]{1,10}")
_NOUN_START = re.compile(r"[\u30a0-\u30ff\u3400-\u9fffA-Za-z0-9]")
"""A katakana or kanji character: where a noun starts after a modifying verb."""
_OWN_VERB = re.compile(
    r"(?:ます|ました|ません|ませんでした|ている|ていた|ていない|ていません|てる|てた|てない|ておる|ております"
    r"|ておりました|ておらず|てます|てました|てません)[\s。、!?！？.]*$"
)
"""A Japanese clause that ends on an inflected verb has a predicate of its own, even one the phrase
lists do not know (添付なしのは読めています, 送信は試していません): it borrows no verb from the clause
before, whose verb would be carried into a statement it does not make."""
_INTERROGATIVE = re.compile(
    r"^\W*(?:is|are|am|do|does|did|can|could|would|will|should|shall|has|have|had|was|were|what|who|whom|whose"
    r"|where|when|which|how|any|anyone|anybody|isn't|aren't|doesn't|don't|didn't|can't|won't)\b"
)
"""How an English question begins: a sentence that does not is a statement, however many "?" it ends with."""
_WHY = re.compile(r"\bwhy\b|\bhow come\b|なぜ|何故|どうして")
_AFFIRMED_ELLIPSIS = re.compile(
    r"\b(?:does|do|did|is|are|was|were|can|could|will|has|have)(?:\s+(?:too|also|still|though|now))?\W*$"
)
"""An English clause that ends on a bare auxiliary ("…, plain mail does", "everyone else can") repeats
the previous clause's verb without its negation."""


@dataclass(frozen=True)
class ProposedAnswer:
    """An answer read from the complaint, to be confirmed or corrected by the person."""

    question: str
    answer: str
    matched: str
    start: int
    end: int


@dataclass(frozen=True)
class IntakeReading:
    answers: list[ProposedAnswer]
    unmatched: list[str]


@dataclass(frozen=True)
class _Hit:
    term: str
    kind: str
    polarity: int
    start: int
    end: int
    inherited: bool = False
    negated: bool = False
    """a negation cue flipped this hit ("does not arrive"), so an affirmed ellipsis ("…, plain mail
    does") takes the verb without that negation"""
    dangling: bool = False
    """a negation cue that found nothing to flip in its clause ("…, but plain mail doesn't")"""
    flips: tuple[int, int] | None = None
    """for a negation cue: the span of the words it negates"""


@dataclass(frozen=True)
class _Phrase:
    pattern: re.Pattern[str]
    term: str
    kind: str
    polarity: int


@dataclass
class _Clause:
    start: int
    end: int
    contrastive: bool
    sentence: int
    hits: list[_Hit] = field(default_factory=list)
    question: bool = False
    """the sentence asks (a question mark, a Japanese か) rather than states, and does not ask why"""
    own_verb: bool = False
    """a Japanese clause ending on a verb none of the phrases name (see ``_OWN_VERB``)"""
    relative: bool = False
    """a Japanese relative clause and the noun it describes, cut from a hedged clause (``_hedged_relative``)"""
    aside: bool = False
    """the clause stands inside parentheses and has a verb of its own: "Their short messages
    (meeting times, "see the drawings we are sending") arrive as normal" says what arrives around the
    aside, whatever the aside says. An aside without a verb ("見積書(PDF添付)が届かない", "mail from one
    institution (my old university)") names the mail and is read with the clause around it."""


@dataclass
class _Matcher:
    phrases: list[_Phrase]
    rules: list[IntakeRule]
    carried: set[str]
    context: set[str]
    adverbial: set[str]


_MATCHERS: dict[str, _Matcher] = {}


def _matcher(kb: KnowledgeBase, intake: IntakeFile) -> _Matcher:
    """The pack's phrases compiled once per KB version (the pack was validated, so they compile)."""
    key = f"{kb.id}:{kb.version_hash}"
    cached = _MATCHERS.get(key)
    if cached is not None:
        return cached
    phrases: list[_Phrase] = []
    for term in intake.terms:
        for polarity, texts in ((1, term.phrases), (-1, term.opposite)):
            for lang in ("en", "ja"):
                for text in getattr(texts, lang):
                    pattern = re.compile(phrase_pattern(text, lang, intake.macros))
                    phrases.append(_Phrase(pattern, term.id, term.kind, polarity))
    matcher = _Matcher(
        phrases=phrases,
        rules=list(intake.rules),
        carried={t.id for t in intake.terms if t.carry},
        context={t.id for t in intake.terms if t.context},
        adverbial={t.id for t in intake.terms if t.adverbial},
    )
    _MATCHERS[key] = matcher
    return matcher


def checklist(kb: KnowledgeBase) -> list[str]:
    """The cheap symptom questions a person can tick at once, in the order the pack's author chose.

    The order is ``intake.yaml``'s ``checklist`` (what the caller can say without any tool first);
    a pack without one lists its helpdesk-answerable symptom questions cheapest first, ties in file
    order, so the checklist is stable across runs.
    """
    if kb.intake is not None and kb.intake.checklist:
        return list(kb.intake.checklist)
    candidates = [q for q in kb.questions.values() if q.symptom and "helpdesk" in q.asked_by]
    return [q.id for q in sorted(candidates, key=lambda q: q.cost_minutes)]


def read_complaint(kb: KnowledgeBase, text: str, lang: str = "en") -> IntakeReading:
    """Proposed answers for a complaint in English, Japanese or both; none for a pack without intake.yaml.

    Phrases of both languages are always tried (a Japanese complaint quotes English log lines).
    ``lang`` picks the grammar of negation for clauses that mix scripts: in a Japanese complaint a
    clause with any Japanese is read as Japanese; otherwise only a mostly Japanese clause is.
    Raises ``ValueError`` for texts over ``MAX_INTAKE_CHARS``.
    """
    if len(text) > MAX_INTAKE_CHARS:
        raise ValueError(f"the text has {len(text)} characters; the limit is {MAX_INTAKE_CHARS}")
    normalised = normalise(text)
    if kb.intake is None:
        return IntakeReading([], [text[c.start:c.end] for c in _clauses(text, normalised, [])])
    matcher = _matcher(kb, kb.intake)
    hits = _longest_hits(normalised, matcher.phrases)
    asked = [(m.start(), m.end()) for m in _QUOTED_QUESTION.finditer(normalised)]
    asked += [(m.start(), m.end()) for m in _QUOTED_NAME.finditer(normalised)]
    hits = [h for h in hits if not any(s <= h.start and h.end <= e for s, e in asked)]
    clauses = _clauses(text, normalised, hits)
    _assign_hits(clauses, hits)
    for clause in clauses:
        clause.aside = _has(clause.hits, "predicate") and _inside_parentheses(normalised, clause.start)
        clause.contrastive = clause.contrastive and not _RESTRICTION.match(normalised, clause.start)
    clauses = [part for clause in clauses for part in _hedged_relative(clause, text, normalised, lang)]
    for clause in clauses:
        japanese = _japanese(text[clause.start:clause.end], lang)
        if japanese and not clause.relative:
            clause.hits = [h for h in clause.hits if not _modifies_noun(h, normalised)]
        clause.hits = _apply_negations(clause.hits, normalised, japanese, matcher.carried, matcher.adverbial)
        clause.own_verb = japanese and bool(_OWN_VERB.search(normalised[clause.start:clause.end]))
    return _read(text, normalised, clauses, matcher, _pasted_findings(kb, text))


def _pasted_findings(kb: KnowledgeBase, text: str) -> list[ProposedAnswer]:
    """What the log reader finds in the log lines and bounces the person pasted into the complaint.

    People paste what they see ("maillog full of: postfix/smtp[4411]: connect to 127.0.0.1[127.0.0.1]:10024:
    Connection refused"), and the phrase lists do not know log lines: the log reader does, with its
    signatures and reply codes. Only a line that reads as pasted (``_reads_as_pasted``) counts, only
    findings of at least ``PASTED_STRENGTH``, and only questions whose findings all name one answer;
    the phrase rules win where they answer the same question.
    """
    from engine.evidence import read  # the package's reader; imported late, as the package imports its parts

    by_question: dict[str, list[tuple[float, str, str]]] = {}
    for finding in read(text, kb).found:
        by_question.setdefault(finding.question, []).append((finding.strength, finding.answer, finding.source_line))
    proposals = []
    for question, findings in by_question.items():
        if len({answer for _, answer, _ in findings}) != 1:
            continue
        strong = [f for f in findings if f[0] >= PASTED_STRENGTH and _reads_as_pasted(f[2])]
        if not strong:
            continue
        _, answer, line = max(strong, key=lambda f: f[0])
        # the reader joins wrapped lines with single spaces: find the original span, line breaks and all
        span = re.search(r"\s+".join(map(re.escape, line.split())), text)
        if span is not None:
            proposals.append(ProposedAnswer(question, answer, span.group(), span.start(), span.end()))
    return proposals


def _reads_as_pasted(line: str) -> bool:
    """Whether ``line`` carries a pasted log line or quoted message that its own sentence leaves standing.

    The reader joins wrapped lines, so ``line`` may be a paragraph: only the sentence around the
    pasted part is judged, up to the log part (what follows a log mark is the log's own wording,
    "was not offered"), or to the end of the sentence after a quote (「…」の類は無し).
    """
    quoted = _PASTED_QUOTE.search(line)
    mark = _PASTED_MARK.search(line)
    if mark is not None:
        anchor = end = mark.start()
    elif quoted is not None:
        anchor = quoted.start()
        after = _SENTENCE_END.search(line, quoted.end())
        end = len(line) if after is None else after.end()
    else:
        return False
    begin = max((m.end() for m in _SENTENCE_END.finditer(line, 0, anchor)), default=0)
    return not _PASTED_DOUBT.search(_PASTED_QUOTE.sub(" ", line[begin:end]))


def _hedged_relative(clause: _Clause, text: str, normalised: str, lang: str) -> list[_Clause]:
    """A Japanese hedge governs the clause's own predicate, not a relative clause before its noun:
    5年間問題なく動いていたpostfixの設定を疑って doubts the configuration, yet states that it ran
    without trouble for five years. The relative clause with its noun (up to the case particle)
    becomes a clause of its own, the rest keeps the hedge."""
    hedges = [h for h in clause.hits if h.kind == "hedge"]
    if not hedges or not _japanese(text[clause.start:clause.end], lang):
        return [clause]
    cut = None
    for hit in clause.hits:
        if hit.kind != "predicate" or hit.end > hedges[0].start:
            continue
        run = _KANA_RUN.match(normalised, hit.end)
        end = run.end() if run else hit.end
        if (normalised[end - 1] in _PLAIN_VERB_ENDINGS + "い" and _NOUN_START.match(normalised, end)
                and not _DOUBT_NOUN.match(normalised, end)):
            cut = end
    if cut is None:
        return [clause]
    particle = _CASE_PARTICLE.search(normalised, cut, hedges[0].start)
    head_end = particle.start() if particle else cut
    first = _Clause(clause.start, head_end, clause.contrastive, clause.sentence,
                    [h for h in clause.hits if h.end <= head_end], clause.question, relative=True)
    rest = _Clause(head_end, clause.end, False, clause.sentence,
                   [h for h in clause.hits if h.start >= head_end], clause.question)
    return [first, rest]


def _modifies_noun(hit: _Hit, normalised: str) -> bool:
    """A Japanese verb in its plain form right before a noun is a relative clause, not the clause's
    predicate: in 大学から届く添付ファイル付きのメールが届きません the first 届く only says which mail
    is meant, and only 届きません states what happens to it. So does a verb with auxiliaries
    (送ってもらってる資料) and one before はず (届くはずのメール: what should arrive)."""
    if hit.kind != "predicate":
        return False
    okurigana = _OKURIGANA.match(normalised, hit.end)
    end = okurigana.end() if okurigana else hit.end
    form = normalised[hit.start:end]
    if okurigana and okurigana.group().startswith(("な", "ず")):
        return False  # 問題なく届きます: a negated (adverbial) form, not a verb modifying a noun
    if form[-1] in _PLAIN_VERB_ENDINGS and _NOUN_START.match(normalised, end):
        return True
    run = _KANA_RUN.match(normalised, hit.end)
    if run is None:
        return False
    kana = run.group()
    if re.match(f"[^{_PLAIN_VERB_ENDINGS}]{{0,3}}[{_PLAIN_VERB_ENDINGS}]はず", kana):
        return True  # 届くはずの添付: what should arrive, not what does
    if re.search("な|ず|ませ", kana):
        return False
    # 送ってもらってる資料: an auxiliary chain (てもらう, ている, てくれる) ending in a plain form
    return kana[-1] in _PLAIN_VERB_ENDINGS and bool(_NOUN_START.match(normalised, run.end()))


def _japanese(clause: str, lang: str) -> bool:
    kana_kanji = len(_JAPANESE.findall(clause))
    return kana_kanji > 0 and (lang == "ja" or kana_kanji > len(re.findall(r"[A-Za-z]", clause)))


def _clauses(text: str, normalised: str, hits: list[_Hit]) -> list[_Clause]:
    """Sentences, then clauses. Separators inside quotes do not count (a quoted log line is one
    unit), nor clause separators inside a cue phrase ("comes and goes", "on and off")."""
    quoted = bytearray(len(normalised) + 1)
    for match in _QUOTES.finditer(normalised):
        quoted[match.start() + 1:match.end()] = b"\1" * (match.end() - match.start() - 1)
    phrase = bytearray(quoted)
    for hit in hits:
        phrase[hit.start + 1:hit.end] = b"\1" * (hit.end - hit.start - 1)

    def free(start: int, is_sentence: bool) -> bool:
        return not (quoted if is_sentence else phrase)[start] and not (is_sentence and _soft_wrap(normalised, start))

    cuts: list[tuple[int, int, bool, bool]] = []  # start, end, sentence end, contrastive
    for pattern, is_sentence, is_contrastive in (
        (_SENTENCE_END, True, False), (_CONTRASTIVE, False, True), (_CLAUSE_BREAK, False, False)
    ):
        cuts.extend((m.start(), m.end(), is_sentence, is_contrastive) for m in pattern.finditer(normalised)
                    if free(m.start(), is_sentence))
    cuts.sort()
    clauses: list[_Clause] = []
    position, sentence, contrastive, sentence_start = 0, 0, False, 0
    for start, end, is_sentence, is_contrastive in [*cuts, (len(text), len(text), True, False)]:
        if start < position:
            continue
        left, right = position, start
        while left < right and not text[left].strip():
            left += 1
        while right > left and not text[right - 1].strip():
            right -= 1
        if right > left and re.search(r"\w", text[left:right]):
            clauses.append(_Clause(left, right, contrastive, sentence))
            contrastive = False
        contrastive = contrastive or is_contrastive
        if is_sentence:
            if _asks(normalised[sentence_start:start], normalised[start:end]):
                for clause in clauses:
                    clause.question = clause.question or clause.sentence == sentence
            sentence += 1
            contrastive = False
            sentence_start = end
        position = end
    return clauses


def _inside_parentheses(normalised: str, position: int) -> bool:
    """Whether ``position`` lies inside a parenthesis opened earlier on its line and closed later
    ("(meeting times, and so on)")."""
    line_start = normalised.rfind("\n", 0, position) + 1
    before = normalised[line_start:position]
    depth = before.count("(") + before.count("（") - before.count(")") - before.count("）")
    return depth > 0 and bool(re.search(r"[)）]", normalised[position:]))


def _soft_wrap(normalised: str, position: int) -> bool:
    """Whether the line break at ``position`` only wraps a sentence ("their short plain ones get" /
    "delivered."), as a mail client or a ticket form wraps long lines, rather than ending it: the line
    is long, ends without a sentence mark, a colon or a Japanese comma (after 添付されたメールで、 the
    break is where the writer paused), and the next line goes on in the same sentence
    (not blank, not a list item, quote, header field or log line)."""
    if normalised[position] != "\n":
        return False
    line_start = normalised.rfind("\n", 0, position) + 1
    line = normalised[line_start:position].rstrip()
    next_break = normalised.find("\n", position + 1)
    following = normalised[position + 1:next_break if next_break >= 0 else len(normalised)]
    if not line or not following.strip() or re.search(r"[.!?。！？:：;；、，]$", line):
        return False
    if _LINE_OPENER.match(following):
        return False
    if _LINE_OPENER.match(line) and not (_LIST_ITEM.match(line) and _indent(following) > _indent(line)):
        return False  # a line of its own, unless a list item goes on in an indented continuation line
    if _indent(normalised[line_start:position]) > _indent(following):
        return False  # an indented block (a pasted reply or log line) ends where the prose resumes
    return len(line) >= _WRAP_WIDTH[bool(_JAPANESE.search(line))]


def _indent(line: str) -> int:
    """Leading blanks of a line (a tab counts as one): a reply quoted by indenting it ("  554 5.7.1 …")
    stands apart from the unindented sentence that follows it."""
    return len(line) - len(line.lstrip(" \t"))


def _asks(sentence: str, terminator: str) -> bool:
    """A question states nothing ("is it the firewall?", "届きますか"), unless it asks why: "why don't
    attachments arrive?" takes for granted that they do not. Doubled marks ("it just disappears??",
    "届かない!?") are exasperation: such a sentence asks only when it is worded as a question."""
    asking = terminator in ("?", "？") or bool(_JAPANESE_QUESTION.search(sentence))
    if asking and re.search(r"[?？!！]\s*$", sentence):
        bare = re.sub(r"[?？!！\s]+$", "", sentence)
        asking = bool(_INTERROGATIVE.search(bare) or _JAPANESE_QUESTION.search(bare))
    return asking and not _WHY.search(sentence)


def _longest_hits(normalised: str, phrases: Iterable[_Phrase]) -> list[_Hit]:
    """Every phrase match, overlaps resolved in favour of the longest (then the earliest)."""
    found = [
        _Hit(p.term, p.kind, p.polarity, m.start(), m.end())
        for p in phrases for m in p.pattern.finditer(normalised) if m.end() > m.start()
    ]
    found.sort(key=lambda h: (-(h.end - h.start), h.start))
    owner: list[tuple[int, int] | None] = [None] * len(normalised)  # the span that took each character
    terms_at: dict[tuple[int, int], set[str]] = {}
    taken: list[_Hit] = []
    for hit in found:
        span = (hit.start, hit.end)
        owners = set(owner[hit.start:hit.end])
        # the same words may state two terms ("bounce": a bounce message, and mail not delivered)
        if owners == {None} or (owners == {span} and hit.term not in terms_at[span]):
            owner[hit.start:hit.end] = [span] * (hit.end - hit.start)
            terms_at.setdefault(span, set()).add(hit.term)
            taken.append(hit)
    return sorted(taken, key=lambda h: h.start)


def _assign_hits(clauses: list[_Clause], hits: list[_Hit]) -> None:
    """Each clause gets the hits inside it (hits and clauses are both in text order)."""
    starts = [h.start for h in hits]
    for clause in clauses:
        first = bisect.bisect_left(starts, clause.start)
        last = bisect.bisect_left(starts, clause.end)
        clause.hits = [h for h in hits[first:last] if h.end <= clause.end]


def _negation_target(hits: list[_Hit], index: int, normalised: str, japanese: bool,
                     carried: set[str], adverbial: set[str]) -> int | None:
    """Which hit a negation cue flips: see the module docstring for the grammar."""
    cue = hits[index]
    if japanese and cue.kind == "predicate_negation":
        return None  # 一通も届きません: the verb carries the negation, 一通も only agrees with it
    if not japanese and not _has(hits, "predicate") and any(h.term in carried for h in hits[index + 1:]):
        return None  # "…, but not the ones with attachments": the elided verb is negated, not the mail
    allowed = {"predicate"} if cue.kind == "predicate_negation" else {"subject", "predicate"}
    before = [i for i in range(index - 1, -1, -1) if hits[i].kind in allowed and hits[i].term not in adverbial]
    after = [i for i in range(index + 1, len(hits)) if hits[i].kind in allowed and hits[i].term not in adverbial]
    if japanese and normalised[cue.start:cue.end].isascii():
        # an English log line quoted in Japanese ("SMTPUTF8 is required, but was not offered"): its
        # "not" negates the English words after it, never a Japanese word nor the words before it
        english = [i for i in after if not _JAPANESE.search(normalised[cue.end:hits[i].end])]
        return english[0] if english else None
    if japanese:
        return before[0] if before else (after[0] if after else None)
    if not after:
        # "…, but attachments don't": a bare English "not" at the end elides its verb (dangling);
        # "we receive no mail" still negates the verb before it
        return before[0] if before and cue.kind == "predicate_negation" else None
    first = after[0]
    predicates = [i for i in after if hits[i].kind == "predicate"]
    if predicates and normalised[cue.start:cue.end].endswith("n't") and hits[first].kind == "subject":
        return predicates[0]  # "why don't attachments arrive": the auxiliary's "n't" belongs to the verb
    if _ONE_WORD_BETWEEN.match(normalised[cue.end:hits[first].start]) or cue.kind == "predicate_negation":
        return first
    return predicates[0] if predicates else first


def _apply_negations(hits: list[_Hit], normalised: str, japanese: bool, carried: set[str],
                     adverbial: set[str]) -> list[_Hit]:
    """Flip the polarity of negated hits (and of any other term stated by the same words).

    The cues stay in the list, marked when they found nothing to flip, so that rules can name them
    ("nothing arrives") and ellipsis can see a dangling one.
    """
    flips: dict[tuple[int, int], int] = {}
    targets: dict[int, tuple[int, int]] = {}
    dangling: set[int] = set()
    for i, hit in enumerate(hits):
        if hit.kind in _NEGATIONS:
            target = _negation_target(hits, i, normalised, japanese, carried, adverbial)
            if target is None:
                if not (japanese and hit.kind == "predicate_negation"):
                    dangling.add(i)
            else:
                span = (hits[target].start, hits[target].end)
                flips[span] = flips.get(span, 0) + 1
                targets[i] = span
    result = []
    for i, hit in enumerate(hits):
        if flips.get((hit.start, hit.end), 0) % 2 and hit.kind not in _NEGATIONS:
            hit = replace(hit, polarity=-hit.polarity, negated=True)
        result.append(replace(hit, dangling=i in dangling, flips=targets.get(i)))
    return result


def _has(hits: list[_Hit], kind: str) -> bool:
    return any(h.kind == kind for h in hits)


def _by_term(hits: list[_Hit]) -> dict[str, list[_Hit]]:
    grouped: dict[str, list[_Hit]] = {}
    for hit in hits:
        grouped.setdefault(hit.term, []).append(hit)
    return grouped


def _holds(condition: str, by_term: dict[str, list[_Hit]]) -> list[_Hit]:
    """The hits that make a condition true, or [] when it does not hold (a term stated both ways holds neither)."""
    wanted = -1 if condition.startswith("not ") else 1
    found = by_term.get(condition.removeprefix("not "), [])
    return found if found and all(h.polarity == wanted for h in found) else []


def _fires(rule: IntakeRule, by_term: dict[str, list[_Hit]]) -> list[_Hit] | None:
    used: list[_Hit] = []
    for condition in rule.when:
        found = _holds(condition, by_term)
        if not found:
            return None
        used.extend(found)
    if rule.when_any:
        found_any = [h for c in rule.when_any for h in _holds(c, by_term)]
        if not found_any:
            return None
        used.extend(found_any)
    if any(_holds(c, by_term) for c in rule.unless):
        return None
    return used if any(not h.inherited for h in used) else None


def _with_context(hits: list[_Hit], previous_predicates: list[_Hit], contrastive: bool, affirmed: bool,
                  previous_carried: list[_Hit], matcher: _Matcher, own_verb: bool = False,
                  pronoun: bool = False) -> list[_Hit]:
    """Borrow the predicate (ellipsis) and the carried subject (e.g. attachments) from earlier clauses.

    ``affirmed``: the clause ends on a bare auxiliary ("plain mail does", "everyone else can"), which
    repeats the earlier verb without its negation, whether or not a "but" came before.
    ``pronoun``: an English pronoun in a clause with a verb of its own (see ``_PRONOUN``).
    """
    own = [h for h in hits if h.kind in ("subject", "predicate")]
    result = list(hits)
    if not _has(own, "predicate") and own and previous_predicates and not own_verb:
        dangling = [h for h in hits if h.dangling]
        if dangling:
            # After a "but", a bare negation repeats the earlier verb negated: "plain mail arrives, but
            # attachments don't" (do not arrive), "attachments fail, but plain mail doesn't" (does not
            # fail); so does a "no one" that names whose mail ("mail from X bounces, nobody else":
            # nobody else's does). Otherwise it agrees with a failure already stated ("we didn't touch
            # it" - "not since 2019, no"; "no mail from anyone, nothing").
            spans = {(h.start, h.end) for h in hits if h.term in matcher.context}
            repeats = any((h.kind == "negation" and contrastive) or (h.start, h.end) in spans for h in dangling)
            polarity_of = {h.term: -h.polarity if repeats else -1 for h in previous_predicates}
        elif affirmed:
            polarity_of = {h.term: -h.polarity if h.negated else h.polarity for h in previous_predicates}
        else:
            sign = -1 if contrastive else 1
            polarity_of = {h.term: h.polarity * sign for h in previous_predicates}
        result.extend(replace(h, polarity=polarity_of[h.term], inherited=True) for h in previous_predicates)
    terms = {h.term for h in own}
    # a bare "nothing" ("waited two days on the first one. nothing.", "looked in junk, nothing in
    # there") is said of the mail just named, like a pronoun
    refers_back = (bool(terms & matcher.context) or (pronoun and _has(own, "predicate"))
                   or (not _has(own, "predicate") and _has(hits, "predicate_negation")))
    if refers_back and not terms & matcher.carried and previous_carried:
        result.extend(replace(h, inherited=True) for h in previous_carried)
    return result


def _span(used: list[_Hit], hits: list[_Hit], clause: _Clause) -> tuple[int, int]:
    """The words an answer came from: its hits and the negations that flipped them ("does not
    arrive", not "arrive"); the whole clause when it borrowed words from an earlier one."""
    if any(h.inherited for h in used):
        return clause.start, clause.end
    spans = {(h.start, h.end) for h in used}
    words = used + [h for h in hits if h.flips in spans]
    return min(h.start for h in words), max(h.end for h in words)


def _whole_words(text: str, start: int, end: int, clause: _Clause) -> tuple[int, int]:
    """Widen a span to whole words ("haven't touched", not "n't touched") and, in Japanese, to the
    inflection after the last word (届いていません, not 届), without leaving the clause."""
    while start > clause.start and text[start - 1].isascii() and text[start - 1].isalnum():
        start -= 1
    while end < clause.end and text[end].isascii() and text[end].isalnum():
        end += 1
    while end < clause.end and _HIRAGANA.match(text[end]):
        end += 1
    return start, end


def _joins_next(own: list[_Hit], following: _Clause | None, clause: _Clause, previous_predicates: list[_Hit]) -> bool:
    """A subject without a predicate belongs to the next clause of its sentence when that one says what
    happened ("mail with attachments, sent from one partner, does not arrive") and either nothing
    came before to borrow from or the next clause has no subject of its own."""
    if not own or _has(own, "predicate") or clause.own_verb:
        return False
    if following is None or following.sentence != clause.sentence:
        return False
    return _says_what_happened(following) and (not previous_predicates or not _has(following.hits, "subject"))


def _says_what_happened(clause: _Clause) -> bool:
    """A verb of its own, or a bare negation that elides one ("the packets themselves (PDF
    attachments, a few MB each) do not"): a subject before it is what it is said of."""
    return _has(clause.hits, "predicate") or any(h.dangling for h in clause.hits)


@dataclass
class _Reading:
    """One clause as the rules see it: its hits with what it borrowed, and whether it states anything."""

    clause: _Clause
    hits: list[_Hit]
    by_term: dict[str, list[_Hit]]
    stated: bool


def _readings(text: str, normalised: str, clauses: list[_Clause], matcher: _Matcher) -> list[_Reading]:
    """Each clause with the words it borrows from its neighbours (see the module docstring).

    ``normalised`` is ``normalise(text)``, which keeps every character's position, so a clause's
    normalised words are its slice of it."""
    readings: list[_Reading] = []
    previous_predicates: list[_Hit] = []
    previous_carried: list[_Hit] = []
    pending: _Clause | None = None
    log_lines = [(m.start(), text.find("\n", m.start())) for m in _LOG_LINE.finditer(normalised)]
    # a quoted log line ("lost connection after DATA") reports one session, like a pasted one
    quotes = [(m.start(), m.end()) for m in _QUOTES.finditer(normalised)]
    for index, clause in enumerate(clauses):
        if pending is not None and not clause.aside:
            clause = _Clause(pending.start, clause.end, pending.contrastive, clause.sentence,
                             pending.hits + clause.hits, clause.question, clause.own_verb)
            pending = None
        own = [h for h in clause.hits if h.kind in ("subject", "predicate")]
        words = normalised[clause.start:clause.end]
        following = _following(clauses, index)
        if (following is not None and following.sentence == clause.sentence and _has(following.hits, "predicate")
                and _has(own, "subject") and _CONDITIONAL.search(words)):
            clause = replace(clause, hits=[h for h in clause.hits if h.kind != "predicate"])
            own = [h for h in own if h.kind != "predicate"]
        fronted = (own and not _has(own, "predicate") and following is not None
                   and following.sentence == clause.sentence and _has(following.hits, "predicate")
                   and (_FRONTED_SOURCE.search(words)
                        or _PARTICLE_START.match(text[following.start:following.end])
                        or _JA_CONDITION_END.search(text[clause.start:clause.end])))
        coordinated = (own and not _has(own, "predicate") and not _ends_sentence(clauses, index)
                       and not clause.own_verb
                       and _COORDINATION.match(normalised, clause.end, clauses[index + 1].end) is not None)
        if not clause.aside and (fronted or coordinated or _joins_next(own, following, clause, previous_predicates)):
            pending = clause
            continue
        affirmed = bool(_AFFIRMED_ELLIPSIS.search(words))
        on_log_line = any(s <= clause.start and (clause.end <= e or e < 0) for s, e in log_lines)
        on_log_line = on_log_line or bool(_TOOL_RUN.search(words))
        own_predicates = [h for h in clause.hits if h.kind == "predicate"]
        on_log_line = on_log_line or (bool(own_predicates) and all(
            any(qs < h.start and h.end <= qe for qs, qe in quotes) for h in own_predicates))
        pronoun = not _japanese(text[clause.start:clause.end], "en") and bool(_PRONOUN.search(words))
        hits = _with_context(clause.hits, previous_predicates, clause.contrastive, affirmed,
                             [] if on_log_line else previous_carried, matcher, clause.own_verb, pronoun)
        stated = not clause.question and not _has(hits, "hedge")
        if (readings and readings[-1].clause.sentence == clause.sentence and _only_hedge(clause, normalised)
                and (_inside_parentheses(normalised, clause.start) or _ends_sentence(clauses, index))):
            # a bracketed or trailing doubt withdraws the statement before it: 「…表示されないとの声あり
            # (未確認)」, "the site is down without www (unconfirmed)", "Sending out works too, apparently";
            # a longer aside that merely holds a hedge word (「一度も設定を触ってません(触り方も知らないw)」)
            # does not
            readings[-1].stated = False
        if readings and _RETRACTION.fullmatch(words):
            # the sentence of the last clause that said something: this one's opening clauses ("…と書きましたが
            # 誤りでした"), or the sentence before ("… was lost. That was wrong."), past a speaker's name
            # ("Ken: nothing arrives. Mia: Not true, ...")
            retracted = next((r.clause.sentence for r in reversed(readings) if r.hits), readings[-1].clause.sentence)
            for reading in readings:
                if reading.clause.sentence == retracted:
                    reading.stated = False
        readings.append(_Reading(clause, hits, _by_term(hits), stated))
        if clause.aside:
            continue  # an aside lends neither its verb nor its subject to what follows
        if _has(hits, "hedge"):
            # nor does a hedge: "whether their plain mail arrives is unchecked" (a question does: "> what
            # was failing?" "Only mail from Osaka with attachments" answers it); and a verb from before
            # the hedge does not pass over it: in "they're sending. I don't think so, but I'd check" the
            # check borrows no "sending" (phrasings15 p006)
            previous_predicates = []
            continue
        predicates = [h for h in hits if h.kind == "predicate"]
        if predicates and not _TIME_CLAUSE.match(words):
            previous_predicates = predicates
        carried = [h for h in hits if h.term in matcher.carried]
        if carried:
            previous_carried = carried
    return readings


def _ends_sentence(clauses: list[_Clause], index: int) -> bool:
    """Whether clause ``index`` is the last of its sentence."""
    return index + 1 == len(clauses) or clauses[index + 1].sentence != clauses[index].sentence


def _only_hedge(clause: _Clause, normalised: str) -> bool:
    """Whether a clause says nothing but its doubt ("unconfirmed", 「未確認」, "not yet verified")."""
    hedges = [h for h in clause.hits if h.kind == "hedge"]
    if not hedges:
        return False
    rest = list(normalised[clause.start:clause.end])
    for hit in hedges:
        rest[hit.start - clause.start:hit.end - clause.start] = " " * (hit.end - hit.start)
    return _BARE_DOUBT_REST.fullmatch("".join(rest)) is not None


def _following(clauses: list[_Clause], index: int) -> _Clause | None:
    """The next clause of the sentence with a predicate, passing over inserted asides that have none
    ("mail from the hospital (their gateway is mx.hospital.example) with scans attached never
    arrives"); the asides are then joined with the rest. Without such a clause, the next one."""
    for candidate in clauses[index + 1:]:
        if candidate.sentence != clauses[index].sentence:
            break
        if _says_what_happened(candidate) and not candidate.aside:
            return candidate
    return clauses[index + 1] if index + 1 < len(clauses) else None


def _said_elsewhere(conditions: list[str], readings: list[_Reading], index: int) -> bool:
    """Whether a stated clause other than ``index`` says all of ``conditions`` together."""
    return any(
        other.stated and all(_holds(c, other.by_term) for c in conditions)
        for j, other in enumerate(readings) if j != index
    )


def _elsewhere(rule: IntakeRule, readings: list[_Reading], index: int) -> bool:
    """Whether another stated clause says all of the rule's ``elsewhere`` conditions together."""
    return not rule.elsewhere or _said_elsewhere(rule.elsewhere, readings, index)


def _blocked_elsewhere(rule: IntakeRule, readings: list[_Reading], index: int) -> bool:
    """Whether another stated clause says all of the rule's ``unless_elsewhere`` conditions together."""
    return bool(rule.unless_elsewhere) and _said_elsewhere(rule.unless_elsewhere, readings, index)


def _sentence_blocks(rule: IntakeRule, readings: list[_Reading], index: int) -> bool:
    """Whether another clause of the same sentence states one of the rule's ``unless_sentence``
    conditions: "users can't get into their mailboxes; Thunderbird just times out" is a connection
    timing out, not a login refused, though the clause break splits the two."""
    sentence = readings[index].clause.sentence
    return any(
        _holds(c, other.by_term)
        for j, other in enumerate(readings) if j != index and other.clause.sentence == sentence
        for c in rule.unless_sentence
    )


def _read(text: str, normalised: str, clauses: list[_Clause], matcher: _Matcher,
          pasted: list[ProposedAnswer]) -> IntakeReading:
    proposals: dict[str, list[tuple[int, str, int, int]]] = {}  # question -> (priority, answer, start, end)
    groups: list[tuple[int, int, bool]] = []  # start, end, gave an answer
    readings = _readings(text, normalised, clauses, matcher)
    for index, reading in enumerate(readings):
        clause = reading.clause
        answered = False
        for rule in matcher.rules if reading.stated else ():
            used = _fires(rule, reading.by_term)
            if (used is not None and _elsewhere(rule, readings, index) and not _sentence_blocks(rule, readings, index)
                    and not _blocked_elsewhere(rule, readings, index)):
                start, end = _whole_words(text, *_span(used, reading.hits, clause), clause)
                proposals.setdefault(rule.question, []).append((rule.priority, rule.answer, start, end))
                answered = True
        groups.append((clause.start, clause.end, answered))
    answers = []
    for question, found in proposals.items():
        top = max(p for p, _, _, _ in found)
        best = [f for f in found if f[0] == top]
        if len({answer for _, answer, _, _ in best}) != 1:
            continue  # the text says both; propose nothing
        _, answer, start, end = min(best, key=lambda f: f[2])
        answers.append(ProposedAnswer(question, answer, text[start:end], start, end))
    answers += [p for p in pasted if p.question not in proposals]
    answers.sort(key=lambda a: (a.start, a.question))
    covered = [(a.start, a.end) for a in answers]
    unmatched = [
        text[start:end] for start, end, answered in groups
        if not answered and not any(s < end and start < e for s, e in covered)
    ]
    return IntakeReading(answers, unmatched)
