"""One canonical rendering of a line before any family test or signature sees it.

The same fact reaches us in many wrappers: a syslog (RFC 3164) or journald header, an RFC 5424
header, a Docker/compose or mailcow container prefix, ``> `` quoting from a mail client or forum,
HTML escaping from a web page or ticket system, and the redactions people make before pasting.
Patterns written against one rendering miss all the others, so every line is first rewritten to
what the software actually said:

* container prefixes (``postfix-mailcow-1  | ``, ``mail_1  | ``) and terminal colour codes go;
* quote markers (``> ``, ``>> ``) and SMTP transcript arrows (``<<< ``, ``<** ``, ``-> ``) go;
* HTML entities are decoded (``&lt;`` becomes ``<``);
* a syslog, journald (``short``, ``short-iso``, ``short-precise``, ``short-full``, ``short-unix``)
  or RFC 5424 header becomes the program tag alone, ``program[pid]: message``, which is what the
  family tests look for (an RFC 5424 header writes the pid in its own field); so does the date and
  time a program's own log file writes before its tag (``2016-02-24 13:55:02 rmilter[19044]: ``);
* redactions become one token, ``redacted``: ``[x]``, ``[...]``, ``[REDACTED]``, ``<...>``,
  ``<removed>``, ``******`` and IP addresses written ``xxx.xxx.xxx.xxx`` or ``x.x.x.x``. A
  bracketed redaction that stands for an address keeps its brackets (``unknown[redacted]``), one
  inside a host name loses them (``mail.redacted.example``), so the ``host[ip]`` shape survives;
* runs of white space become one space; an indented line keeps one leading space, which is how
  continuation lines (folded headers, wrapped bounce prose, zone and postconf continuations) are
  still recognised;
* line breaks written as escapes (``\\r\\n``, or ``\\n`` before a reply code), which is how a
  reply reaches us from a Python or JavaScript repr or a JSON log, become spaces, and a multi-line
  SMTP reply on one line (``554-first\\r\\n554-second\\r\\n554 last``) becomes one reply: the
  continuation codes RFC 5321 4.2.1 repeats on every line are dropped after the first
  (:func:`one_reply`).

Case is left alone; signature patterns are matched case-insensitively instead. Every rewrite is a
bounded regular expression or a plain string operation, so the step stays linear in the line.
"""

from __future__ import annotations

import html
import re

REDACTED = "redacted"
"""The token every redaction becomes; address and host groups of signature patterns accept it."""

_ANSI = re.compile(r"\x1b\[[0-9;]{0,20}[A-Za-z]")
_CONTAINER = re.compile(r"^[A-Za-z0-9][\w.-]{0,127}\s{1,40}\|\s?")
_QUOTE = re.compile(r"^\s{0,8}(?:(?:>\s?){1,10}|(?:<<<|>>>|<\*\*|\*\*>|<-|->|<~|~>)\s)")
_STAMP = re.compile(
    r"^(?:<\d{1,3}>)?(?:"
    r"[A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d(?:\.\d{1,9})?"  # RFC 3164, journalctl short/short-precise
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?"  # short-iso, rsyslog RFC 3339
    r"|[A-Z][a-z]{2} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z]{2,5}"  # journalctl short-full
    r"|\d{9,11}\.\d{1,9}"  # journalctl short-unix
    r") "
)
_TAG = re.compile(r"[\w./@-]{1,80}(?:\[\d{1,10}\])?:(?: |$)")
_SPACED_STAMP_TAG = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[.,]\d{1,9})? (?=[\w./@-]{1,80}\[\d{1,10}\]: )")
"""A program's own log file with a date and time before its tag (``2016-02-24 13:55:02 rmilter[19044]:
clamav: ...``). Only with a tag and pid after it: Exim's mainlog starts with the same date and time
and never writes a ``name[pid]:`` tag there (its pid, when logged, is a bare ``[pid]``)."""
_RFC5424 = re.compile(
    r"^<\d{1,3}>1 \S{1,64} \S{1,255} (?P<app>\S{1,48}) (?P<pid>\S{1,128}) \S{1,32} "
    r"(?:-|(?:\[[^\]]{0,1000}\]){1,10}) ?"
)
_BRACKETED = re.compile(
    r"[\[<](?i:x{1,4}|\.{2,3}|…|\*{1,8}|redacted|removed|hidden|snip|censored|ip|ip address|hostname|domain"
    r"|email|e-mail|address)[\]>]"
)
_PAIRS = ("[]", "<>")
_BRACKET_HINTS = ("[x", "[.", "[…", "[*", "<.", "<…", "redacted", "removed", "hidden", "snip", "censored", "[ip",
                  "[host", "[domain", "<email>", "<e-mail>", "<address>")
"""Every match of :data:`_BRACKETED` contains one of these (in lower case)."""
_MASKED_ADDRESS = re.compile(r"[\dxX*]{1,3}\.[\dxX*]{1,3}\.[\dxX*]{1,3}\.[\dxX*]{1,3}(?![\w*]|\.\w)")
"""Both patterns start with a character class, which the regex engine scans for at C speed; what
must (not) stand left of a match is checked in the replacement function instead of a lookbehind."""
_STARS = re.compile(r"\*{3,}")
_ESCAPED_BREAK = re.compile(r"\\r\\n|\\n(?=[245]\d\d[ -])")
"""A line break written as an escape: ``\\r\\n`` anywhere, ``\\n`` only before a reply code (alone
it is as likely a Windows path's ``\\new``)."""
_MULTILINE_REPLY = re.compile(r"^(?P<lead>(?:b(?=['\"]))?[^\w\s]{0,3}(?:[SC]: ?)?)(?P<code>[245]\d\d)-")
"""The first line of a multi-line reply, after an optional quote (``'``, Python's ``b'``) or
transcript marker (``S: ``)."""
_BANNER = re.compile(r"^\d{3}[ -]\*")


def _bracketed(match: re.Match[str]) -> str:
    """The token for a bracketed redaction, keeping the brackets where they delimit an address."""
    text, value = match.string, match.group()
    if value[0] + value[-1] not in _PAIRS:
        return value
    before = text[match.start() - 1] if match.start() else ""
    after = text[match.end()] if match.end() < len(text) else ""
    if before in ".@" or after == ".":
        return REDACTED  # a label of a host name or domain: mail.[x].example
    return f"<{REDACTED}>" if value.startswith("<") else f"[{REDACTED}]"


def _stars(match: re.Match[str]) -> str:
    """A run of asterisks as the token, except at the very start: swaks' ``*** Error ...`` marker."""
    return match.group() if match.start() == 0 else REDACTED


def _masked_address(match: re.Match[str]) -> str:
    """``xxx.xxx.xxx.xxx`` / ``203.0.x.x`` as the token; real dotted quads stay as they are."""
    value, start = match.group(), match.start()
    if start and (match.string[start - 1].isalnum() or match.string[start - 1] in "_.*"):
        return value  # the tail of a longer token, such as a version number or a host name
    return REDACTED if any(c in value for c in "xX*") else value


def _may_hold_bracketed(text: str) -> bool:
    """Whether a bracketed redaction may be present: plain substring tests that spare most lines the
    regex (their brackets hold pids, addresses and e-mail addresses)."""
    lowered = text.lower()
    return any(map(lowered.__contains__, _BRACKET_HINTS))


def one_reply(text: str) -> str:
    """A multi-line SMTP reply written on one line as one reply: ``550-a 550-b 550 c`` becomes
    ``550 a b c``. RFC 5321 4.2.1 repeats the code on every line (with ``-`` on all but the last),
    and an enhanced code (RFC 2034) is repeated with it; signatures read the text once."""
    head = _MULTILINE_REPLY.match(text)
    if head is None:
        return text
    code = head["code"]
    rest = text[head.end():]
    for separator in (" ", "-"):
        marker = f" {code}{separator}"
        if marker in rest:
            rest = rest.replace(marker, " ")
    enhanced = rest.split(" ", 1)[0]
    if enhanced[:1] == code[:1] and enhanced.count(".") == 2 and f" {enhanced} " in rest:
        rest = rest[:len(enhanced)] + rest[len(enhanced):].replace(f" {enhanced} ", " ")
    return f"{head['lead']}{code} {rest}"


def _escaped_breaks(text: str) -> str:
    """Escaped line breaks as spaces and a multi-line reply as one (see :func:`one_reply`)."""
    if "\\r\\n" not in text and "\\n" not in text:
        return text
    spaced = _ESCAPED_BREAK.sub(" ", text)
    if spaced == text:
        return text
    return one_reply(" ".join(spaced.split()))


def _redactions(text: str) -> str:
    """Every redaction as :data:`REDACTED`; each rewrite runs only when a cheap test says it may apply."""
    if _may_hold_bracketed(text):
        text = _BRACKETED.sub(_bracketed, text)
    if "x.x" in text or "X.X" in text or "*.*" in text or "x.*" in text:
        text = _MASKED_ADDRESS.sub(_masked_address, text)
    if "***" in text and not _BANNER.match(text):
        text = _STARS.sub(_stars, text)  # a 220 banner of asterisks is evidence, not a redaction
    return text


def _header(text: str) -> str:
    """The message with any syslog/journald/RFC 5424 header reduced to ``program[pid]: ``."""
    if text.startswith("<") and (m := _RFC5424.match(text)):
        pid = m["pid"]
        tag = m["app"] if pid == "-" else f"{m['app']}[{pid}]"
        return f"{tag}: {text[m.end():]}"
    if not (text[:1].isalnum() or text.startswith("<")):
        return text
    stamp = _STAMP.match(text) or _SPACED_STAMP_TAG.match(text)
    if stamp is None:
        return text
    rest = text[stamp.end():]
    if _TAG.match(rest):
        return rest
    space = rest.find(" ", 0, 256)
    host = rest[:space]
    if space > 0 and ":" not in host and "[" not in host and _TAG.match(rest, space + 1):
        return rest[space + 1:]
    return text


def normalise(raw: str) -> str:
    """The canonical rendering of one line (see the module docstring); '' for a blank line."""
    text = raw
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if text.find("|", 0, 170) >= 0 and (container := _CONTAINER.match(text)):
        text = text[container.end():]
    indented = text[:1].isspace()
    first = text.lstrip()[:1] if indented else text[:1]
    if first and first in "><-~*" and (quote := _QUOTE.match(text)):
        text = text[quote.end():]
        indented = text[:1].isspace()
    if "&" in text:
        text = html.unescape(text)
    if "\\" in text:
        text = _escaped_breaks(text)
    if indented or "  " in text or text.endswith(" ") or not text.isprintable():
        text = " ".join(text.split())  # isprintable() is False for every white space but " "
    if not text:
        return ""
    text = _redactions(_header(text))
    return f" {text}" if indented else text
