"""KB signatures compiled for scanning: a literal prefilter per pattern, and a backtracking lint.

Scanning every line with every pattern is what makes naive log matching slow. From each pattern's
parse tree comes a set of literals one of which every match must contain (one literal for a plain
pattern, one per branch for an alternation); the artifact's lines are joined once and searched for
those literals with ``str.find``, and only the lines containing one see the full regex.

Patterns are matched case-insensitively, on the normalised line (:mod:`engine.evidence.normalize`):
capitalisation and spacing differ between versions of the same daemon ("Client host rejected" and
"client host rejected"), and a pattern that needs exact case says so with ``(?-i:...)``.
"""

from __future__ import annotations

import bisect
import re
import re._constants as _c
import re._parser as sre_parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.evidence.model import MAX_HITS_PER_SIGNATURE, ExtractedAnswer, Line
from engine.kb.knowledge import KnowledgeBase
from engine.kb.schema import Signature

_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT)
_MIN_KEYWORD = 3
_SELECTIVE = 9
"""A literal this long occurs in few log lines; see :func:`_preference`."""
_NARROW_SHARE = 8
"""A literal's lines are found among those of a literal it contains when those are at most this
share (1/N) of all lines; beyond it one more pass through the text is cheaper."""
_TRIGRAM_INDEX_CHARS = 1 << 20
"""Texts from this length on get a trigram index before their literals are searched (see
``Haystack._absent``); below it a pass of ``str.find`` is cheaper than building one."""
_TRIGRAM_CHUNK = 1 << 22
"""Bytes indexed at a time, so the index costs a few MiB of scratch memory whatever the input."""


@dataclass(frozen=True)
class CompiledSignature:
    signature: Signature
    regex: re.Pattern[str]
    literals: tuple[str, ...]
    """Every match contains at least one of these, ignoring case (empty: no usable literal, test every
    line)."""


Needed = tuple[frozenset[str], bool]
"""A set of literals one of which every match contains, and whether they are case-insensitive."""


def _flatten(items: Any) -> list[tuple[Any, Any]]:
    """Inline plain groups, so that ``(?:ab)c`` reads as the literal run ``abc``."""
    flat: list[tuple[Any, Any]] = []
    for op, arg in items:
        if op is _c.SUBPATTERN and not arg[1] and not arg[2]:
            flat.extend(_flatten(arg[3]))
        else:
            flat.append((op, arg))
    return flat


def _quality(needed: Needed) -> int:
    return min(len(literal) for literal in needed[0])


def _needed(items: Any, caseless: bool) -> Needed | None:
    """The most selective literal set that every match of the sequence ``items`` must contain."""
    candidates: list[Needed] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            candidates.append((frozenset(["".join(run)]), caseless))
            run.clear()

    for op, arg in _flatten(items):
        if op is _c.LITERAL:
            run.append(chr(arg))
            continue
        if op is _c.BRANCH and run:
            candidates.append(_prefixed(run, arg[1], caseless))
        flush()
        inner: Needed | None = None
        if op is _c.SUBPATTERN:
            inner = _needed(arg[3], caseless or bool(arg[1] & re.IGNORECASE))
        elif op is _c.BRANCH:
            branches = [_needed(branch, caseless) for branch in arg[1]]
            if all(b is not None for b in branches):
                sets = [b for b in branches if b is not None]
                inner = (frozenset().union(*(b[0] for b in sets)), any(b[1] for b in sets))
        elif op in _REPEATS and arg[0] >= 1:
            body = arg[2]
            if len(body) == 1 and body[0][0] is _c.LITERAL and arg[0] >= _MIN_KEYWORD:
                inner = (frozenset([chr(body[0][1]) * arg[0]]), caseless)
            else:
                inner = _needed(body, caseless)
        if inner is not None:
            candidates.append(inner)
    flush()
    usable = [c for c in candidates if _quality(c) >= _MIN_KEYWORD]
    return max(usable, key=_preference) if usable else None


def _preference(needed: Needed) -> tuple[int, float]:
    """Longer literals first, up to :data:`_SELECTIVE`; beyond it, the cheaper set to search for:
    each literal costs one search through all the lines, which skips ahead by about the literal's
    length, so a set costs about the sum of its literals' inverse lengths."""
    return min(_quality(needed), _SELECTIVE), -sum(1 / len(literal) for literal in needed[0])


def _prefixed(run: list[str], branches: Any, caseless: bool) -> Needed:
    """The literal run before an alternation joined to each branch's leading literals.

    The parser factors a common prefix out of alternatives (``status=deferred|status=bounced`` is
    ``status=`` then ``deferred|bounced``); rejoining it keeps the long, rare literals for the
    prefilter instead of the common prefix alone. A branch without a leading literal contributes
    the prefix as it is.
    """
    prefix = "".join(run)
    joined: set[str] = set()
    for branch in branches:
        lead: list[str] = []
        for op, arg in _flatten(branch):
            if op is not _c.LITERAL:
                break
            lead.append(chr(arg))
        joined.add(prefix + "".join(lead))
    return (frozenset(joined), caseless)


def required_literals(pattern: str) -> Needed | None:
    """Literals one of which every match of ``pattern`` contains, and whether case is ignored.

    Alternatives contribute the union of their branches' literals; optional parts and character
    classes contribute nothing. None means no set of literals of at least three characters exists.
    """
    parsed = sre_parse.parse(pattern)
    return _needed(list(parsed), bool(parsed.state.flags & re.IGNORECASE))


def _bodies(op: Any, arg: Any) -> list[Any]:
    """The sub-patterns of one parse-tree node (repeat body, group, alternatives, assertion)."""
    if op in _REPEATS:
        return [arg[2]]
    if op is _c.SUBPATTERN:
        return [arg[3]]
    if op is _c.BRANCH:
        return list(arg[1])
    if op in (_c.ASSERT, _c.ASSERT_NOT):
        return [arg[1]]
    if op is _c.ATOMIC_GROUP:
        return [arg]
    if op is _c.GROUPREF_EXISTS:
        return [branch for branch in arg[1:] if branch is not None]
    return []


def _contains_unbounded_repeat(items: Any) -> bool:
    return any(
        (op in _REPEATS and arg[1] == _c.MAXREPEAT) or any(_contains_unbounded_repeat(b) for b in _bodies(op, arg))
        for op, arg in items
    )


def nested_repeats(pattern: str) -> list[str]:
    """Repeats whose body holds an unbounded repeat, like ``(a+)+`` or ``(?:\\s*x)*``.

    These are the shapes that backtrack exponentially on a near-miss (catastrophic backtracking);
    signature patterns must not contain them. Returns a description of each offending repeat.
    """
    found: list[str] = []

    def walk(items: Any) -> None:
        for op, arg in items:
            if op in _REPEATS and arg[1] > 1 and _contains_unbounded_repeat(arg[2]):
                upper = "inf" if arg[1] == _c.MAXREPEAT else arg[1]
                found.append(f"{op} {{{arg[0]},{upper}}} over {arg[2]}")
            for body in _bodies(op, arg):
                walk(body)

    walk(sre_parse.parse(pattern))
    return found


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A signature pattern as it is matched: case-insensitively (see the module docstring)."""
    return re.compile(pattern, re.IGNORECASE)


def _compile(signature: Signature) -> CompiledSignature | None:
    try:
        regex = compile_pattern(signature.pattern)
        needed = required_literals(signature.pattern)
    except (re.error, RecursionError, OverflowError):
        return None  # the validator reports bad patterns; extraction skips them instead of failing
    return CompiledSignature(signature, regex, _minimal(needed[0]) if needed is not None else ())


def _minimal(literals: frozenset[str]) -> tuple[str, ...]:
    """The literals without those that contain another one (ignoring case): a line holding the
    longer one holds the shorter one too, so searching for both only costs another pass."""
    lowered = {literal.lower() for literal in literals}
    return tuple(sorted(literal for literal in lowered
                        if not any(other != literal and other in literal for other in lowered)))


_CACHE: dict[tuple[str, str], dict[str, list[CompiledSignature]]] = {}


def compiled_signatures(kb: KnowledgeBase) -> dict[str, list[CompiledSignature]]:
    """The pack's usable signatures grouped by ``extractor``, compiled once per pack version."""
    key = (kb.id, kb.version_hash)
    if key not in _CACHE:
        groups: dict[str, list[CompiledSignature]] = {}
        for signature in kb.signatures.values():
            compiled = _compile(signature)
            if compiled is not None and signature.reliability > 0.0:
                groups.setdefault(signature.extractor, []).append(compiled)
        _CACHE[key] = groups
    return _CACHE[key]


def scan(lines: Sequence[Line], signatures: Sequence[CompiledSignature], family: str | None,
         haystack: Haystack | None = None) -> list[ExtractedAnswer]:
    """Every (line, signature) match, at most ``MAX_HITS_PER_SIGNATURE`` per signature.

    ``family`` names the extractor of the findings; None names each signature's own (for lines no
    family claimed, where the signature that matched is the best account of how a line was read).
    """
    if not lines or not signatures:
        return []
    haystack = haystack or Haystack(lines)
    found: list[ExtractedAnswer] = []
    for compiled in signatures:
        hits = 0
        for index in haystack.candidates(compiled):
            line = lines[index]
            if compiled.regex.search(line.text) is None:
                continue
            sig = compiled.signature
            found.append(ExtractedAnswer(sig.question, sig.answer, sig.reliability, line.text,
                                         family or sig.extractor, sig.id, line.number))
            hits += 1
            if hits >= MAX_HITS_PER_SIGNATURE:
                break
    return found


class Haystack:
    """The lines lower-cased and joined once, with their start offsets, for C-speed literal searches.

    Lines are lowered one by one, with offsets of their own: lowering can change the length of
    some non-ASCII text, which must not shift the other lines' positions.
    """

    def __init__(self, lines: Sequence[Line]) -> None:
        self.count = len(lines)
        self.lowered, self.starts = joined([line.text.lower() for line in lines])
        self._found: dict[str, set[int]] = {}
        """needle -> the lines holding it: signatures and the error words share needles"""
        self._trigrams: np.ndarray | None = None
        """which UTF-8 byte trigrams occur in ``lowered``, built on the first search of a long text"""

    def candidates(self, compiled: CompiledSignature) -> Sequence[int]:
        """Indexes of the lines containing one of the signature's literals (all lines without any)."""
        if not compiled.literals:
            return range(self.count)
        return self.containing(compiled.literals)

    def containing(self, needles: Sequence[str]) -> list[int]:
        """Indexes of the lines containing one of ``needles``, ignoring case."""
        indexes: set[int] = set()
        for needle in needles:
            indexes |= self._lines_with(needle.lower())
        return sorted(indexes)

    def _lines_with(self, needle: str) -> set[int]:
        if needle not in self._found:
            narrower = self._within_found(needle)
            if narrower is not None:
                self._found[needle] = {i for i in narrower if needle in self._line(i)}
                return self._found[needle]
            text, starts = self.lowered, self.starts
            indexes: set[int] = set()
            if self._absent(needle):
                self._found[needle] = indexes
                return indexes
            position = text.find(needle)
            while position >= 0:
                index = bisect.bisect_right(starts, position) - 1
                indexes.add(index)
                if index + 1 >= self.count:
                    break
                position = text.find(needle, starts[index + 1])
            self._found[needle] = indexes
        return self._found[needle]

    def _absent(self, needle: str) -> bool:
        """Whether ``needle`` surely does not occur, because one of its byte trigrams does not.

        Most of a pack's literals occur nowhere in a given log, and proving that by ``str.find``
        costs a pass through the whole text for each; one pass of numpy over the text's bytes marks
        every trigram present (a 16 MiB table), after which an absent literal costs a few lookups.
        """
        if len(self.lowered) < _TRIGRAM_INDEX_CHARS:
            return False
        if self._trigrams is None:
            self._trigrams = _trigram_table(self.lowered.encode("utf-8", "surrogatepass"))
        data = np.frombuffer(needle.encode("utf-8", "surrogatepass"), dtype=np.uint8).astype(np.uint32)
        if data.size < 3:
            return False
        codes = (data[:-2] << 16) | (data[1:-1] << 8) | data[2:]
        return not bool(self._trigrams[codes].all())

    def _within_found(self, needle: str) -> set[int] | None:
        """The smallest line set already found for a literal that ``needle`` contains, if it is small.

        Every line holding ``needle`` holds each of its substrings, so when one of them was searched
        before (the error words are searched first), only its lines need looking at: one pass
        through all the lines is saved for every such literal ("connection refused" after "refused").
        """
        best: set[int] | None = None
        for found, lines in self._found.items():
            if (best is None or len(lines) < len(best)) and found in needle:
                best = lines
        return best if best is not None and len(best) <= self.count // _NARROW_SHARE else None

    def _line(self, index: int) -> str:
        end = self.starts[index + 1] - 1 if index + 1 < self.count else len(self.lowered)
        return self.lowered[self.starts[index]:end]


def _trigram_table(data: bytes) -> np.ndarray:
    """A table over all 2^24 byte trigrams, True where the trigram occurs in ``data``."""
    table = np.zeros(1 << 24, dtype=bool)
    view = np.frombuffer(data, dtype=np.uint8)
    for start in range(0, max(len(view) - 2, 0), _TRIGRAM_CHUNK):
        chunk = view[start:start + _TRIGRAM_CHUNK + 2].astype(np.uint32)
        table[(chunk[:-2] << 16) | (chunk[1:-1] << 8) | chunk[2:]] = True
    return table


def joined(texts: Sequence[str]) -> tuple[str, list[int]]:
    """The texts joined by newlines, and the offset at which each one starts."""
    starts = [0] * len(texts)
    offset = 0
    for index, text in enumerate(texts):
        starts[index] = offset
        offset += len(text) + 1
    return "\n".join(texts), starts
