"""Read a pack directory into pydantic models, keeping every node's file and line.

Parsing goes through ``engine.kb.yaml_lines``, which refuses duplicate keys (PyYAML on its own keeps
the last one, hiding a reviewer's edit) and records the line of every key.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from engine import bundled
from engine.errors import KbError, Problem
from engine.kb import yaml_lines
from engine.kb.schema import (
    PACK_FILES,
    REQUIRED_FILES,
    CausesFile,
    FixesFile,
    IntakeFile,
    MechanismsFile,
    Pack,
    QuestionsFile,
    ReplyCodesFile,
    SignaturesFile,
)

BUNDLED_KB_DIR = bundled.kb_dir()
LEARNED_FILE = "learned.yaml"
MAX_FILE_BYTES = 5 * 1024 * 1024


@dataclass
class SourceMap:
    """Where each piece of a parsed YAML document came from, for file:line messages."""

    file: str
    document: Any

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The 1-based line of the deepest part of ``path`` that exists in the document."""
        return yaml_lines.line_of(self.document, list(path))


@dataclass
class RawPack:
    """A pack as parsed, before cross-reference validation."""

    directory: Path
    pack: Pack | None = None
    causes: CausesFile | None = None
    mechanisms: MechanismsFile = field(default_factory=MechanismsFile)
    questions: QuestionsFile | None = None
    fixes: FixesFile = field(default_factory=FixesFile)
    signatures: SignaturesFile = field(default_factory=SignaturesFile)
    intake: IntakeFile | None = None
    reply_codes: ReplyCodesFile = field(default_factory=ReplyCodesFile)
    sources: dict[str, SourceMap] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line(self, file: str, path: Sequence[str | int]) -> int | None:
        source = self.sources.get(file)
        return source.line_of(path) if source else None

    def error(self, file: str, path: Sequence[str | int], message: str, hint: str) -> None:
        self._add("error", file, path, message, hint)

    def warning(self, file: str, path: Sequence[str | int], message: str, hint: str) -> None:
        self._add("warning", file, path, message, hint)

    def _add(self, severity: str, file: str, path: Sequence[str | int], message: str, hint: str) -> None:
        self.problems.append(
            Problem(
                severity="error" if severity == "error" else "warning",
                file=file,
                line=self.line(file, path),
                field=".".join(str(p) for p in path),
                message=message,
                hint=hint,
            )
        )


def resolve_pack_dir(name_or_path: str | Path) -> Path:
    """A bundled pack name (``mail_delivery``) or a directory path.

    A bare name means the bundled pack even when the working directory happens to hold a folder of
    that name: which knowledge a diagnosis runs on must not depend on where the command was started.
    A local copy is reached by writing it as a path (``./mail_delivery``).
    """
    if isinstance(name_or_path, str) and name_or_path in bundled_pack_names():
        return BUNDLED_KB_DIR / name_or_path
    candidate = Path(name_or_path)
    if candidate.is_dir():
        return candidate
    known = ", ".join(bundled_pack_names()) or "none"
    raise KbError(
        [
            Problem(
                "error",
                str(name_or_path),
                None,
                "",
                "no such knowledge pack or directory",
                f"use a bundled pack ({known}) or a directory containing pack.yaml",
            )
        ]
    )


def bundled_pack_names() -> list[str]:
    if not BUNDLED_KB_DIR.is_dir():
        return []
    return sorted(p.name for p in BUNDLED_KB_DIR.iterdir() if (p / "pack.yaml").is_file())


def pack_files(directory: Path) -> list[Path]:
    """The files that define a pack's content, in a stable order, for hashing."""
    names = [*PACK_FILES, LEARNED_FILE]
    return [directory / n for n in names if (directory / n).is_file()]


HASH_MEMO_DIRECTORIES = 64
"""Pack directories whose content hash is remembered (see ``content_hash``); least recent out first."""
SETTLED_SECONDS = 2.0
"""A file changed less than this long ago may change again within the same clock tick of the file
system, unseen by its status; its directory's hash is then not remembered."""
_hash_memo: OrderedDict[Path, tuple[tuple[tuple[str, int, int, int, int], ...], str]] = OrderedDict()
_hash_lock = threading.Lock()


def content_hash(directory: Path) -> str:
    """The KB version identity: sessions and cases record it so any result can be reproduced.

    Every request checks the pack it runs on against it (``Service.kb``, the session's version), so
    the hash of a directory whose files have not changed is remembered: a file's status change time
    moves on every write, rename over it or change of its times, and cannot be set back. A directory
    with a file changed in the last ``SETTLED_SECONDS`` is hashed again each time.
    """
    files = pack_files(directory)
    try:
        status = [(path.name, path.stat()) for path in files]
    except OSError:
        status = []
    stamp = tuple((name, s.st_ctime_ns, s.st_mtime_ns, s.st_size, s.st_ino) for name, s in status)
    key = directory.resolve()
    with _hash_lock:
        known = _hash_memo.get(key)
        if known is not None and status and known[0] == stamp:
            _hash_memo.move_to_end(key)
            return known[1]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    value = digest.hexdigest()[:16]
    settled = time.time_ns() - int(SETTLED_SECONDS * 1e9)
    if status and len(status) == len(files) and all(s.st_ctime_ns < settled and s.st_mtime_ns < settled
                                                    for _, s in status):
        with _hash_lock:
            _hash_memo[key] = (stamp, value)
            _hash_memo.move_to_end(key)
            while len(_hash_memo) > HASH_MEMO_DIRECTORIES:
                _hash_memo.popitem(last=False)
    return value


def parse_yaml(raw: RawPack, file: str) -> Any:
    """Parse one file, turning every way it can be unreadable into a located problem."""
    path = raw.directory / file
    if not path.is_file():
        if file in REQUIRED_FILES:
            raw.error(file, [], "required file is missing", f"create {file} in {raw.directory}")
        return None
    data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raw.error(file, [], f"file is {len(data)} bytes", f"keep pack files under {MAX_FILE_BYTES} bytes")
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raw.problems.append(
            Problem(
                "error",
                file,
                line,
                "",
                f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
                "save the file as UTF-8 YAML; binary files do not belong in a pack",
            )
        )
        return None
    if "\0" in text:
        raw.problems.append(
            Problem("error", file, text[: text.index("\0")].count("\n") + 1, "", "contains a NUL byte",
                    "save the file as plain UTF-8 YAML")
        )
        return None
    try:
        document = yaml_lines.load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        mark_line: int | None = mark.line + 1 if mark is not None else None
        problem = (exc.problem or "invalid YAML").strip()
        if "duplicate key" in problem:
            hint = "each key may appear once per mapping; remove or rename the duplicate"
        else:
            hint = "fix the YAML syntax (indentation, quoting, colons) at this line"
        raw.problems.append(Problem("error", file, mark_line, "", problem, hint))
        return None
    except yaml.YAMLError as exc:
        raw.problems.append(Problem("error", file, None, "", str(exc), "fix the YAML syntax"))
        return None
    if document is None:
        raw.error(file, [], "file is empty", _empty_hint(file))
        return None
    raw.sources[file] = SourceMap(file, document)
    return document


def _empty_hint(file: str) -> str:
    model = PACK_FILES.get(file)
    if model is None:
        return "remove the empty file"
    keys = ", ".join(model.model_fields)
    return f"the file must be a mapping with: {keys}"


def _validate_file(raw: RawPack, file: str, document: Any) -> Any:
    model = PACK_FILES[file]
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        for err in exc.errors():
            loc = [p for p in err["loc"] if isinstance(p, str | int)]
            # pydantic appends the union tag to the location; it is not a YAML key
            loc = [p for p in loc if p not in ("noisy_or", "noisy_and", "all_of", "table")]
            message = err["msg"]
            if err["type"] == "extra_forbidden":
                allowed = _allowed_fields(model, loc[:-1])
                message = f"unknown field '{loc[-1]}'"
                hint = f"remove it or use one of: {allowed}" if allowed else "remove it"
            elif err["type"] == "missing":
                hint = f"add the required field '{loc[-1]}'"
            else:
                given = err.get("input")
                shown = repr(given) if not isinstance(given, dict | list) else type(given).__name__
                hint = f"got {shown[:80]}; correct the value"
            raw.error(file, loc, message, hint)
        return None


def _allowed_fields(model: type, loc: Sequence[str | int]) -> str:
    """Best-effort list of valid field names at a location, for 'unknown field' hints."""
    from typing import get_args, get_origin

    from pydantic import BaseModel

    current: Any = model
    for step in loc:
        if isinstance(step, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return ""
        info = current.model_fields.get(step)
        if info is None:
            return ""
        annotation = info.annotation
        while get_origin(annotation) is not None and not (
            isinstance(annotation, type) and issubclass(annotation, BaseModel)
        ):
            args = [a for a in get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
            if args:
                annotation = args[0]
                break
            inner = get_args(annotation)
            if not inner:
                break
            annotation = inner[0]
        current = annotation
    if isinstance(current, type) and issubclass(current, BaseModel):
        return ", ".join(current.model_fields)
    return ""


def read_pack(name_or_path: str | Path) -> RawPack:
    """Parse every file of a pack; problems are collected, not raised, so all show at once."""
    directory = resolve_pack_dir(name_or_path)
    raw = RawPack(directory=directory)
    for file in PACK_FILES:
        document = parse_yaml(raw, file)
        if document is None:
            continue
        parsed = _validate_file(raw, file, document)
        if parsed is None:
            continue
        attr = file.removesuffix(".yaml")
        setattr(raw, attr, parsed)
    known = set(PACK_FILES) | {LEARNED_FILE}
    for path in sorted(directory.glob("*.y*ml")):
        if path.name not in known:
            raw.warning(path.name, [], "file is not part of the pack format and is ignored",
                        f"known files: {', '.join(sorted(known))}")
    return raw


def iter_errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]
