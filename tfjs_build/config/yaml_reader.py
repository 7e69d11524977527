"""tfjs.yaml as plain data plus the position of every key and value, read in one linear pass over YAML events.

Built from the parser's event stream rather than PyYAML's composer, so that hostile
input stays cheap and every refusal names a line: nesting is bounded (the composer
recurses, and 10,000 nested lists crashed it), aliases are expanded by reference
with a bound on the values they repeat in total (a 454-byte "billion laughs" took a
minute and 2.5 GB), tags other than plain mappings, lists and scalars are refused,
and keys must be strings given once. yaml is imported here, only when a file is read
that the parse cache does not know, and libyaml's parser is used when it is installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfjs_build.config import parse_cache
from tfjs_build.errors import ConfigError
from tfjs_build.hints import describe, display_path

MAX_DEPTH = 32  # tfjs.yaml needs 5 (models.NAME.quantize.uint8[0]); deeper is a mistake or an attack
MAX_ALIASED_VALUES = 100_000  # values aliases may repeat in total: a few anchors shared by many models fit
_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_STR = "tag:yaml.org,2002:str"


@dataclass
class Doc:
    """Positions of every key path (``models.a.tags[0]``) in a read file, for messages."""

    file: str  # as messages show it
    project: Path  # the folder that holds the file: relative paths in it start here
    value_marks: dict[str, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[str, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: str, at_key: bool = False) -> str:
        marks = self.key_marks if at_key else self.value_marks
        while path and path not in marks:
            path = path.rpartition(".")[0]
        line, col = marks.get(path, (1, 1))
        return f"{self.file}:{line}:{col}"

    def error(self, path: str, message: str, at_key: bool = False) -> ConfigError:
        return ConfigError(f"{self.where(path, at_key)}: {path}: {message}")


def read_yaml(path: Path) -> tuple[Any, Doc]:
    """The file's data (None when empty) and its positions; every problem is a ConfigError naming file:line:col."""
    text = _read_text(path)
    project, key = path.parent.resolve(), parse_cache.text_key(text)
    if (cached := parse_cache.lookup(project, key)) is not None:
        doc = Doc(display_path(path), project)
        data, doc.value_marks, doc.key_marks = cached
        return data, doc
    data, doc = _parse_yaml(path, text, project)
    parse_cache.store(project, key, data, doc.value_marks, doc.key_marks)
    return data, doc


def _parse_yaml(path: Path, text: str, project: Path) -> tuple[Any, Doc]:
    import yaml

    loaders = [yaml.CSafeLoader, yaml.SafeLoader] if hasattr(yaml, "CSafeLoader") else [yaml.SafeLoader]
    for loader_class in loaders:
        # libyaml words syntax errors tersely ("did not find expected ','"): the pure-Python parser reads the file
        # again to say what it found instead. Only on that error path, so valid files never pay for it.
        doc = Doc(display_path(path), project)
        try:
            return _read(text, doc, loader_class, yaml), doc
        except yaml.YAMLError as exc:
            error = exc
    raise _invalid(doc.file, text, error) from None


def _invalid(file: str, text: str, error: Any) -> ConfigError:
    """The parser's complaint, at its line and column."""
    import yaml

    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
        return ConfigError(f"{where}: invalid YAML: {error.problem or error.context}")
    if isinstance(error, yaml.reader.ReaderError):
        code = error.character if isinstance(error.character, int) else ord(error.character)
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        return ConfigError(f"{file}:{line}:{column}: invalid YAML: unacceptable character #x{code:04x}: "
                           f"{error.reason}; remove it")
    return ConfigError(f"{file}: invalid YAML: {error}")


def _read(text: str, doc: Doc, loader_class: Any, yaml: Any) -> Any:
    loader = loader_class(text)  # the pure-Python reader checks the characters here
    try:
        return _Builder(loader, doc, yaml).document()
    finally:
        loader.dispose()


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{display_path(path)}: no such file; run `tfjs-build init` to create one, "
                          "or pass -c FILE / -C DIR") from None
    except IsADirectoryError:
        raise ConfigError(f"{display_path(path)}: is a folder; pass the config file itself with -c FILE, "
                          "or its folder with -C DIR") from None
    except UnicodeDecodeError as exc:
        line = exc.object.count(b"\n", 0, exc.start) + 1
        column = exc.start - (exc.object.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(f"{display_path(path)}:{line}:{column}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); "
                          "save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{display_path(path)}: cannot read: {exc.strerror}; check that it is readable") from None


class _Open:
    """A mapping or list being filled, with the path of its next child."""

    __slots__ = ("value", "path", "anchor", "log_start", "key")

    def __init__(self, value: dict[str, Any] | list[Any], path: str, anchor: str | None, log_start: int) -> None:
        self.value, self.path, self.anchor, self.log_start = value, path, anchor, log_start
        self.key: str | None = None  # a mapping's key whose value comes next

    def child(self) -> str:
        if isinstance(self.value, list):
            return f"{self.path}[{len(self.value)}]"
        return f"{self.path}.{self.key}" if self.path else str(self.key)


class _Builder:
    """Turns the event stream of one document into data, recording marks as it goes."""

    def __init__(self, loader: Any, doc: Doc, yaml: Any) -> None:
        self.loader, self.doc, self.yaml = loader, doc, yaml
        self.stack: list[_Open] = []
        self.root: Any = None
        # Every mark recorded, in order, as (is_key, path, (line, col)): an alias replays its anchor's slice.
        self.log: list[tuple[bool, str, tuple[int, int]]] = []
        self.anchors: dict[str, _Anchor] = {}
        self.aliased = 0

    def document(self) -> Any:
        yaml = self.yaml
        while not isinstance(event := self.loader.get_event(), yaml.StreamEndEvent):
            if isinstance(event, yaml.DocumentEndEvent):
                following = self.loader.peek_event()
                if not isinstance(following, yaml.StreamEndEvent):
                    raise yaml.composer.ComposerError(None, None, "but found another document", following.start_mark)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                self._close(self.stack.pop())
            elif isinstance(event, yaml.AliasEvent):
                self._alias(event)
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                self._open(event)
            elif isinstance(event, yaml.ScalarEvent):
                self._scalar(event)
        return self.root

    def _place(self, value: Any, mark: tuple[int, int]) -> str | None:
        """Put a value where the document is; returns its path, or None when it was a mapping key."""
        parent = self.stack[-1] if self.stack else None
        if parent is not None and isinstance(parent.value, dict) and parent.key is None:
            self._key(parent, value, mark)
            return None
        path = parent.child() if parent is not None else ""
        self._mark(False, path, mark)
        if parent is None:
            self.root = value
        elif isinstance(parent.value, list):
            parent.value.append(value)
        else:
            parent.value[str(parent.key)] = value
            parent.key = None
        return path

    def _key(self, parent: _Open, key: Any, mark: tuple[int, int]) -> None:
        parent.key = key if isinstance(key, str) else repr(key)
        child = parent.child()
        self._mark(True, child, mark)
        if not isinstance(key, str):
            shown = describe(key) if isinstance(key, (dict, list)) else repr(key)
            raise self.doc.error(child, f"keys must be strings, got {shown}", at_key=True)
        if key in parent.value:
            raise self.doc.error(child, "duplicate key; each key may appear once", at_key=True)

    def _mark(self, is_key: bool, path: str, mark: tuple[int, int]) -> None:
        (self.doc.key_marks if is_key else self.doc.value_marks)[path] = mark
        self.log.append((is_key, path, mark))

    def _open(self, event: Any) -> None:
        kind = self.yaml.MappingNode if isinstance(event, self.yaml.MappingStartEvent) else self.yaml.SequenceNode
        value: dict[str, Any] | list[Any] = {} if kind is self.yaml.MappingNode else []
        start, mark = len(self.log), _position(event)
        path = self._place(value, mark)  # a mapping or list as a key is refused there
        assert path is not None
        tag = event.tag if event.tag not in (None, "!") else self.loader.resolve(kind, None, event.implicit)
        if tag not in _PLAIN_TAGS:
            raise self.doc.error(path, f"YAML tag {tag!r} is not allowed; use plain mappings and lists")
        if len(self.stack) >= MAX_DEPTH:
            raise self.doc.error(path, f"nested more than {MAX_DEPTH} levels deep; tfjs.yaml needs at most 5 "
                                       "(look for unclosed brackets)")
        self.stack.append(_Open(value, path, event.anchor, start))

    def _close(self, done: _Open) -> None:
        if done.anchor is not None:
            self._anchor(done.anchor, done.value, done.path, self.doc.value_marks[done.path], done.log_start)

    def _scalar(self, event: Any) -> None:
        value, mark = self._construct(event), _position(event)
        path = self._place(value, mark)
        if event.anchor is not None:  # a key may be anchored too; it has no marks below it to copy
            self._anchor(event.anchor, value, path or "", mark, len(self.log) if path is None else len(self.log) - 1)

    def _construct(self, event: Any) -> Any:
        """The scalar's Python value, with SafeLoader's rules (so `1`, `true`, `~`, `1.5` mean what they always did)."""
        tag = event.tag
        if tag in (None, "!"):
            tag = self.loader.resolve(self.yaml.ScalarNode, event.value, event.implicit)
        if tag == _STR:
            return event.value
        node = self.yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
        try:
            return self.loader.construct_object(node)
        except (ValueError, OverflowError) as exc:  # a 5,000-digit int, a 13th month
            parent = self.stack[-1] if self.stack else None
            at_key = parent is not None and isinstance(parent.value, dict) and parent.key is None
            path = "" if parent is None else parent.path if at_key else parent.child()
            line, col = _position(event)
            reason = str(exc).split(";")[0].split(":")[0]
            raise ConfigError(f"{self.doc.file}:{line}:{col}: {path}: cannot read {describe(event.value)} as "
                              f"{tag.rpartition(':')[2]} ({reason})") from None

    def _anchor(self, name: str, value: Any, path: str, mark: tuple[int, int], start: int) -> None:
        if name in self.anchors:
            raise self.doc.error(path, f"YAML anchor &{name} is defined twice; give each anchor its own name")
        self.anchors[name] = _Anchor(value, path, mark, start, len(self.log))

    def _alias(self, event: Any) -> None:
        """The anchored value again (shared, never modified), with its marks copied under the new path."""
        anchor = self.anchors.get(event.anchor)
        if anchor is None:
            raise self.yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor!r}", event.start_mark)
        path = self._place(anchor.value, anchor.mark)
        if path is None:
            return
        below = self.log[anchor.start + 1:anchor.end]  # the first entry is the anchored value's own mark
        self.aliased += 1 + len(below)
        if self.aliased > MAX_ALIASED_VALUES:
            raise self.doc.error(path, f"aliases (*{event.anchor}) repeat more than {MAX_ALIASED_VALUES} values in all; "
                                       "tfjs.yaml refuses such expansions (use `defaults:` to share model settings)")
        for is_key, old, mark in below:
            self._mark(is_key, path + old[len(anchor.path):], mark)


class _Anchor:
    """An anchored value, where it was written, and its slice of the mark log (its own mark, then those below it)."""

    __slots__ = ("value", "path", "mark", "start", "end")

    def __init__(self, value: Any, path: str, mark: tuple[int, int], start: int, end: int) -> None:
        self.value, self.path, self.mark, self.start, self.end = value, path, mark, start, end


def _position(event: Any) -> tuple[int, int]:
    return event.start_mark.line + 1, event.start_mark.column + 1
