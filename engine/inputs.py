"""Reading what users hand us (files, text) at bounded cost, with errors that say what to do.

Every face and loader reads user files through here, so "a directory, ``/dev/zero`` or a 10 GB file
where a small JSON or YAML file belongs" is refused the same way everywhere: before reading, by
kind and size, and while reading, by never taking more than the limit plus one byte (a file can
grow between the check and the read, and devices report no size at all).

It imports nothing of ours: the knowledge-pack loader, the case model and every face sit above it.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

KIB = 1024
MIB = 1024 * KIB

MAX_EVIDENCE_FILE_BYTES = 1 * MIB
"""An evidence file maps question ids to answers: even the largest pack's full answer set is a few KiB."""
MAX_CASE_FILE_BYTES = 1 * MIB
"""One resolved case is a few KiB of YAML; a megabyte leaves room for long pasted log excerpts."""


class InputFileError(ValueError):
    """A user-named file that cannot be used: missing, not a regular file, too large or unreadable."""

    def __init__(self, kind: str, message: str, details: dict[str, object]) -> None:
        super().__init__(message)
        self.kind = kind
        self.details = details


def regular_file_size(path: Path, what: str) -> int:
    """The size of ``path``, once it is known to be a regular file (links followed).

    ``what`` names the file's role in messages ("evidence file", "case file"), so the person knows
    which of their arguments is wrong.
    """
    details: dict[str, object] = {"file": str(path)}
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise InputFileError("file_not_found", f"{path}: no such file", details) from exc
    except OSError as exc:
        raise InputFileError("unreadable_file", f"{path}: cannot read ({exc.strerror or exc})", details) from exc
    if stat.S_ISDIR(info.st_mode):
        raise InputFileError("not_a_file", f"{path}: is a directory; give the {what} itself", details)
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError("not_a_file", f"{path}: not a regular file (a device, pipe or socket); "
                             f"save the {what} to a file first", details)
    return info.st_size


def read_prefix(path: Path, limit: int, what: str) -> bytes:
    """At most ``limit`` bytes from the start of a regular file (for logs, whose head is enough)."""
    regular_file_size(path, what)
    try:
        with path.open("rb") as handle:
            return handle.read(limit)
    except OSError as exc:
        raise InputFileError("unreadable_file", f"{path}: cannot read ({exc.strerror or exc})",
                             {"file": str(path)}) from exc


def read_regular_file(path: Path, limit: int, what: str) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes, else a clear error."""
    details: dict[str, object] = {"file": str(path), "limit_bytes": limit}
    size = regular_file_size(path, what)
    if size > limit:
        raise InputFileError("file_too_large", f"{path}: {size} bytes; a {what} may have at most {limit} bytes",
                             {**details, "size_bytes": size})
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InputFileError("unreadable_file", f"{path}: cannot read ({exc.strerror or exc})", details) from exc
    if len(data) > limit:
        raise InputFileError("file_too_large", f"{path}: grew past {limit} bytes while being read", details)
    return data


def decode_utf8(data: bytes, path: Path, what: str) -> str:
    """UTF-8 text, or an error naming the line of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputFileError("not_utf8", f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
                             f"save the {what} as UTF-8", {"file": str(path), "line": line}) from exc


def first_unencodable(text: str) -> int | None:
    """The index of the first character UTF-8 cannot encode (a lone surrogate), or None.

    JSON's ``\\ud800`` escapes and undecodable command-line bytes both produce such characters;
    they would fail later, half-way through storing or printing, so they are refused at the edge.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def printable(text: str) -> str:
    """The text with unencodable characters shown as escapes, so a message about them can be printed."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")



def unencodable_at(value: Any, path: str = "body") -> str | None:
    """Where in a JSON value a string (or key) holds a character UTF-8 cannot encode, if anywhere."""
    if isinstance(value, str):
        return path if first_unencodable(value) is not None else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = unencodable_at(key, f"{path} key") or unencodable_at(item, f"{path}.{key}")
            if where is not None:
                return where
    if isinstance(value, list):
        for index, item in enumerate(value):
            where = unencodable_at(item, f"{path}[{index}]")
            if where is not None:
                return where
    return None


def unencodable_message(data: Any) -> str | None:
    """A message naming where a JSON value holds text that is not valid Unicode, or None."""
    where = unencodable_at(data)
    if where is None:
        return None
    return f"{where} holds text that is not valid Unicode (a lone surrogate such as \\ud800); send UTF-8 text"
