"""How an intake cue phrase of ``intake.yaml`` becomes a regular expression.

It lives beside the schema because the validator must compile every phrase (a broken pattern is a
file:line error at load time, not a silent miss at run time) and the matcher in
``engine.evidence.intake`` must compile it the same way.

Text is matched after ``normalise_char`` (casefolded, NFKC), so phrases are written in lower case.
A ``re:`` phrase is used as written, except that ``\\b`` means an ASCII word boundary.
A plain English phrase matches its words with common endings, because people write "attachments",
"attached", "arrived" and "arriving" for the same thing; boundaries are ASCII word boundaries, so an
English word next to Japanese ("DoS攻撃") still matches.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

REGEX_PREFIX = "re:"
MACRO = re.compile(r"\{([a-z][a-z0-9_]*)\}")
_VOWELS = set("aeiou")
_LATIN_EDGE_BEFORE = r"(?<![a-z0-9_])"
_LATIN_EDGE_AFTER = r"(?![a-z0-9_])"
_LATIN_BOUNDARY = r"(?:(?<![a-z0-9_])(?=[a-z0-9_])|(?<=[a-z0-9_])(?![a-z0-9_]))"
"""``\\b`` in a ``re:`` phrase: a boundary of ASCII words, since Python's ``\\b`` counts kanji as letters."""


class PhraseError(ValueError):
    """A phrase that cannot become a pattern: an unknown macro or an invalid regular expression."""


def normalise_char(char: str) -> str:
    """One character, casefolded and NFKC-normalised where that keeps it one character long.

    Keeping the length lets every match in the normalised text point at the same span of the text
    the person wrote, which is what ``matched`` quotes back. Curly apostrophes become straight ones
    so "doesn’t" reads like "doesn't".
    """
    folded = unicodedata.normalize("NFKC", char)
    folded = folded if len(folded) == 1 else char
    lowered = folded.casefold()
    lowered = lowered if len(lowered) == 1 else folded
    return "'" if lowered in "’‘`´" else lowered


def normalise(text: str) -> str:
    return "".join(normalise_char(c) for c in text)


_UNINFLECTED = frozenset({"not", "nor", "never", "none", "nothing", "without", "cannot", "the", "and", "but",
                          "any", "all", "only", "too", "yet", "from", "with", "this", "that", "per"})
"""Function words, which take no endings: "not" must not read "notes" as a negation."""


def _inflected(word: str) -> str:
    """A regex for an English word and its regular endings: arrive→arrives/arrived/arriving,
    flag→flagged, reply→replies/replied, attachment→attachments."""
    if not word.isalpha() or len(word) < 3 or word in _UNINFLECTED:
        return re.escape(word)
    if word.endswith("e"):
        return re.escape(word[:-1]) + "(?:e|es|ed|ing)"
    if word.endswith("y") and word[-2] not in _VOWELS:
        return re.escape(word[:-1]) + "(?:y|ies|ied|ying)"
    double = re.escape(word[-1]) + "?" if word[-1] not in _VOWELS and word[-2] in _VOWELS else ""
    return re.escape(word) + double + "(?:s|es|ed|ing)?"


def _expand_macros(pattern: str, macros: Mapping[str, str], seen: tuple[str, ...] = ()) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in macros:
            raise PhraseError(f"unknown macro '{{{name}}}'")
        if name in seen:
            raise PhraseError(f"macro '{name}' refers to itself")
        return "(?:" + _expand_macros(macros[name], macros, (*seen, name)) + ")"

    return MACRO.sub(replace, pattern)


def phrase_pattern(phrase: str, lang: str, macros: Mapping[str, str]) -> str:
    """The regular expression (source) for one phrase of language ``lang`` ("en" or "ja")."""
    if phrase.startswith(REGEX_PREFIX):
        source = _expand_macros(phrase[len(REGEX_PREFIX):], macros).replace(r"\b", _LATIN_BOUNDARY)
    elif lang == "ja":
        source = re.escape(normalise(phrase))
    else:
        words = normalise(phrase).split()
        if not words:
            raise PhraseError("empty phrase")
        source = r"[\s-]+".join(_inflected(w) for w in words)
        if re.match(r"\w", words[0][0]):
            source = _LATIN_EDGE_BEFORE + source
        if re.match(r"\w", words[-1][-1]):
            source += _LATIN_EDGE_AFTER
    try:
        re.compile(source)
    except re.error as exc:
        raise PhraseError(f"invalid regular expression: {exc}") from exc
    return source
