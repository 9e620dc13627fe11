"""Read one YAML document safely into plain Python values, keeping the FILE:LINE:COL of every value.

The text is composed into PyYAML's node graph with its safe loader; merges are flattened, ${NAME}
placeholders filled and every node checked there, and only then is the graph constructed. So a
problem (duplicate key, recursive alias, missing variable, custom tag) is reported where it was
written, and the values keep their places for later checks. Nothing here touches AWS.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml import MappingNode, ScalarNode, SequenceNode

from esmctl import placeholders, yaml11
from esmctl.errors import Place, Problem, located
from esmctl.yaml11 import FLOAT, JSON_NUMBER, NUMBER_START, TAG, json_text, number_as_text, reads_as_json, surprise

Path = tuple[Any, ...]  # dict keys and list indices of the constructed data

# A spec of 10,000 mappings with every setting (filters, a destination, tags...) is about 10 MB of YAML (16 MB as
# indented JSON) and 420,000 values; one with a few settings each, 1.5 MB. Larger specs can be split into files.
MAX_BYTES = 32 << 20
MAX_NODES = 1_000_000  # also stops alias bombs before they expand
MAX_DEPTH = 100  # real specs nest about 10 deep; the pure-Python composer gives up near 300
MAX_FLOW_BRACKETS = 10_000  # see _check_nesting
STR, MAP, SEQ, MERGE = TAG + "str", TAG + "map", TAG + "seq", TAG + "merge"
_SCALAR_TAGS = {TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_BAD_VALUE = (yaml.YAMLError, ValueError, KeyError, AttributeError)  # what SafeConstructor raises on `!!int x`


class YamlError(Exception):
    """Every problem found (shown one line each: `FILE:LINE:COL: FIELD: message`); `missing`: those of placeholders
    without a value among them."""

    def __init__(self, problems: list[Problem], missing: tuple[Problem, ...] = ()) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems, self.missing = problems, missing


DOCUMENT = "spec"  # the field of a problem of the whole document (a targets file says its own name instead)


def _whole(name: str, message: str) -> YamlError:
    return YamlError([Problem(Place(name, 1, 1), DOCUMENT, message)])


def place(name: str, mark: Any) -> Place:
    """The place of a PyYAML mark (0-based) in file `name`."""
    return Place(name, mark.line + 1, mark.column + 1)


@dataclass
class Document:
    """A constructed YAML document and where each of its values was written."""

    path: str
    data: Any
    marks: dict[Path, Any] = field(default_factory=dict, repr=False)  # path -> PyYAML Mark (0-based)
    key_marks: dict[Path, Any] = field(default_factory=dict, repr=False)
    # (path, message): unquoted scalars that YAML 1.1 reads differently from JSON
    surprises: list[tuple[Path, str]] = field(default_factory=list, repr=False)
    # With load(defer_missing=True): the missing placeholders, one each, and the values that hold them.
    problems: list[Problem] = field(default_factory=list)
    unfilled: frozenset[Path] = frozenset()
    # (path, as written, as JSON writes it): plain numbers JSON writes otherwise (2.50 as 2.5, 1.0e+3 as 1000.0)
    rewritten: list[tuple[Path, str, str]] = field(default_factory=list, repr=False)
    unfilled_keys: frozenset[Path] = frozenset()  # keys (paths) that hold a placeholder without a value
    _by_entry: dict[str, dict[Path, list[Any]]] = field(default_factory=dict, repr=False, compare=False)

    def at(self, path: Path, key: bool = False) -> Place:
        """FILE:LINE:COL of the value at path (of its key, with key=True), else of its nearest ancestor."""
        return located(self.path, self.marks, self.key_marks, tuple(path), key)

    def is_unfilled(self, path: Path) -> bool:
        """Whether the value at path (or one it is part of) holds a placeholder that has no value."""
        path = tuple(path)
        return any(path[:n] in self.unfilled for n in range(1, len(path) + 1)) if self.unfilled else False

    def yaml11_surprises(self, prefix: Path) -> list[tuple[Path, str]]:
        """Unquoted scalars under prefix that YAML 1.1 reads differently from JSON (`NO` -> false, `0755` -> 493)."""
        return self._under("surprises", tuple(prefix))

    def rewritten_numbers(self, prefix: Path) -> list[tuple[Path, str, str]]:
        """Plain numbers under prefix that JSON writes otherwise than the spec (2.50 as 2.5): (path, text, JSON's)."""
        return self._under("rewritten", tuple(prefix))

    def _under(self, name: str, prefix: Path) -> list[Any]:
        """The items of list `name` (each a path first) under prefix. Asked once per mapping of a spec: indexed once
        by the first two steps of their paths (("mappings", 7)), so that a spec is not read once per mapping."""
        found: list[Any] = getattr(self, name)
        if len(prefix) < 2:
            return [item for item in found if item[0][: len(prefix)] == prefix]
        if name not in self._by_entry:
            by: dict[Path, list[Any]] = {}
            for item in found:
                by.setdefault(item[0][:2], []).append(item)
            self._by_entry[name] = by
        return [item for item in self._by_entry[name].get(prefix[:2], []) if item[0][: len(prefix)] == prefix]


def label(path: Path) -> str:
    """('mappings', 0, 'BatchSize') -> 'mappings[0].BatchSize'; () -> 'spec'."""
    out = ""
    for part in path:
        is_index = isinstance(part, int) and not isinstance(part, bool)
        if isinstance(part, bool) or part is None:  # a key YAML 1.1 read as true (`on`): as JSON would write it
            part = {True: "true", False: "false", None: "null"}[part]
        out += f"[{part}]" if is_index else (f".{part}" if out else str(part))
    return out or "spec"


def read_text(path: str, max_bytes: int = MAX_BYTES) -> str:
    """The text of a file ("-" for stdin): UTF-8, a byte-order mark allowed, at most max_bytes."""
    name = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            raw = sys.stdin.buffer.read(max_bytes + 1)
        else:
            with open(path, "rb") as fh:
                raw = fh.read(max_bytes + 1)  # not getsize: a pipe or /dev/stdin has no size
    except OSError as exc:
        raise _whole(name, f"cannot read: {exc.strerror}") from exc
    if len(raw) > max_bytes:
        size = f"{max_bytes} bytes" + (f" ({max_bytes / 2 ** 20:g} MiB)" if max_bytes >= 2 ** 20 else "")
        raise _whole(name, f"more than {size}, the limit for one spec file (10,000 mappings with every setting take "
                           "about 10 MB): split it into several files")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _whole(name, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


# The graph of the last text read without problems (name, text, loader, node): `--targets` reads one spec once per
# target, each with its own variables; composing it again each time took a third of that.
_reusable: list[tuple[str, str, Any, Any]] = []
_reuse_lock = threading.Lock()


def load(path: str, text: str, variables: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None,
         max_nodes: int = MAX_NODES, defer_missing: bool = False, fill: bool = True) -> Document:
    """Parse one document, fill ${NAME} from variables then environ (default os.environ); raise YamlError.

    defer_missing: placeholders without a value are not fatal: the document is returned with them left as
    written, their problems in Document.problems and their places in Document.unfilled, so that the other
    problems of the file can be found too. fill=False: ${NAME} is text (--cli-input-yaml, as the AWS CLI has it)."""
    name = "<stdin>" if path == "-" else path
    loader = None
    with _reuse_lock:  # taken, so that no other thread walks the same graph meanwhile
        reused = _reusable.pop() if _reusable and _reusable[-1][0] == name and _reusable[-1][1] == text else None
    try:
        if reused is not None:
            loader, node = reused[2], reused[3]
            loader.constructed_objects, loader.recursive_objects = {}, {}  # filled values differ from the last
        else:
            loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: 10x faster, the same semantics
            _check_nesting(loader_class, name, text)
            loader = loader_class(text)
            node = loader.get_single_node()
        reader = _Reader(name, loader, {**(os.environ if environ is None else environ), **(variables or {})}, max_nodes,
                         text, fill)
        try:
            if node is not None:
                reader.walk(node, (), 0)
            if reader.problems or (reader.missing and not defer_missing):
                found = {**reader.missing, **reader.problems}
                raise YamlError([found[k] for k in sorted(found, key=lambda k: k[:2])], tuple(reader.missing.values()))
            data = _build(loader, node) if node is not None else None
        finally:
            for filled, value, tag in reader.touched:  # the graph as written, for the next variables
                filled.value, filled.tag = value, tag
        if not reader.problems and not reader.merged_filled_keys:  # else the flattening depended on the variables
            with _reuse_lock:
                _reusable[:] = [(name, text, loader, node)]
        missing = [reader.missing[k] for k in sorted(reader.missing, key=lambda k: k[:2])]
        return Document(name, data, reader.values, reader.keys, reader.surprises, missing, frozenset(reader.unfilled),
                        reader.rewritten, unfilled_keys=frozenset(reader.unfilled_keys))
    except RecursionError as exc:  # PyYAML's pure-Python composer near 300 levels; see _check_nesting
        raise _whole(name, f"nested more than {MAX_DEPTH} levels deep") from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = place(name, mark) if mark else Place(name, 1, 1)
        message = exc.problem or exc.context
        if exc.context == "expected a single document in the stream":
            message = "more than one document; a spec is a single YAML document"
        elif mark and _tab_at(text, mark.line, mark.column):
            message = "tabs cannot indent YAML: use spaces"
        raise YamlError([Problem(where, DOCUMENT, message)]) from exc
    except yaml.reader.ReaderError as exc:  # a control character: find it ourselves, libyaml counts bytes
        index = max(text.find(chr(exc.character)), 0)
        line, col = text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)
        raise YamlError([Problem(Place(name, line, col), DOCUMENT,
                                 f"unacceptable character #x{exc.character:04x}: {exc.reason}")]) from exc
    finally:
        if loader is not None:
            loader.dispose()


def _build(loader: Any, node: Any) -> Any:
    """The values of a walked graph: what PyYAML's construct_document makes of it, in one plain pass (a third of
    its time: no generators, no second flattening of merges). The walk has flattened the merges and refused what
    construction would: other tags, keys that are not single values, repeats, recursive aliases. An aliased node
    is built once and shared, as PyYAML shares it."""
    built: dict[int, Any] = {}
    construct = loader.construct_object  # the walk constructed the scalars it checked: PyYAML keeps them

    def build(n: Any) -> Any:
        if isinstance(n, ScalarNode):
            return n.value if n.tag == STR else construct(n)
        found = built.get(id(n))
        if found is not None:
            return found
        if isinstance(n, MappingNode):
            mapping: dict[Any, Any] = {}
            built[id(n)] = mapping
            for key, value in n.value:
                mapping[key.value if key.tag == STR else construct(key)] = build(value)
            return mapping
        items: list[Any] = []
        built[id(n)] = items
        items.extend(build(item) for item in n.value)
        return items

    return build(node)


def _tab_at(text: str, line: int, column: int) -> bool:
    """Is the character where the parser stopped a tab in the line's indentation (PyYAML: "found character…")?"""
    lines = text.splitlines()
    here = lines[line] if 0 <= line < len(lines) else ""
    return column < len(here) and here[column] == "\t" and not here[:column].strip()


def _check_nesting(loader_class: type, name: str, text: str) -> None:
    """Stop text nested more than MAX_DEPTH levels before it is composed.

    libyaml composes by C recursion, one call per level, and dies of SIGSEGV near 20,000 levels. In 1 MB only
    flow brackets nest that deep (block nesting needs its indentation), so a text with many is first read as
    events, a flat stream, counting levels (a third of a load's time: not for every text).
    """
    if text.count("[") + text.count("{") <= MAX_FLOW_BRACKETS:
        return
    events, depth = loader_class(text), 0
    try:
        while events.check_event():
            event = events.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise YamlError([Problem(place(name, event.start_mark), DOCUMENT,
                                             f"nested more than {MAX_DEPTH} levels deep")])
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    finally:
        events.dispose()


class _Reader:
    """One walk over the composed graph: checks, fills placeholders (`fills`), records marks; problems by position."""

    def __init__(self, name: str, loader: Any, variables: Mapping[str, str], max_nodes: int, text: str = "",
                 fills: bool = True) -> None:
        self.name, self.loader, self.variables, self.max_nodes, self.text = name, loader, variables, max_nodes, text
        self.fills = fills
        self._lines: list[str] | None = None
        self.values: dict[Path, Any] = {}  # path -> PyYAML Mark
        self.keys: dict[Path, Any] = {}
        self.surprises: list[tuple[Path, str]] = []
        self.rewritten: list[tuple[Path, str, str]] = []
        self.problems: dict[tuple[int, int, str], Problem] = {}
        self.missing: dict[tuple[int, int, str], Problem] = {}  # placeholders without a value
        self.unfilled: set[Path] = set()  # where they are
        self.unfilled_nodes: set[int] = set()
        self.unfilled_keys: set[Path] = set()  # keys that hold a placeholder without a value
        self.merged_filled_keys = False  # a merge's keys held placeholders: which pairs it kept depends on them
        self.count = 1
        self.active: set[int] = set()  # collections being walked: meeting one again is a recursive alias
        self.merging: set[int] = set()
        self.filled: set[int] = set()  # placeholders are filled once, however often a node is aliased
        self.touched: list[tuple[Any, str, str]] = []  # (node, value, tag) as written, before filling

    def problem(self, mark: Any, path: Path, message: str, found: dict | None = None) -> None:
        # one line per place and message, though aliases and merges may reach a node along several paths
        key = (mark.line, mark.column, message)
        (self.problems if found is None else found).setdefault(
            key, Problem(place(self.name, mark), label(path), message))

    def walk(self, node: Any, path: Path, depth: int) -> None:
        """Record where node and everything under it were written, checking as it goes."""
        self.values[path] = node.start_mark
        if isinstance(node, ScalarNode):
            written = node.value
            if node.tag != STR or "${" in written:  # a plain string, the most common value, needs nothing
                surprise = self.scalar(node, path)[1]
                if surprise:
                    self.surprises.append((path, surprise))
                if id(node) in self.unfilled_nodes:
                    self.unfilled.add(path)
            if node.tag == STR and not node.style and node.value[:1] in NUMBER_START and JSON_NUMBER.fullmatch(
                    node.value) and ("${" not in written or placeholders.whole(written)) and not self.tagged(node):
                self.surprises.append((path, number_as_text(node.value)))  # 1e3: YAML 1.1 floats need a dot
            return
        expected = MAP if isinstance(node, MappingNode) else SEQ
        if node.tag != expected:
            return self.problem(node.start_mark, path, f"unsupported tag {node.tag.replace(TAG, '!!')}")
        if depth >= MAX_DEPTH:
            return self.problem(node.start_mark, path, f"nested more than {MAX_DEPTH} levels deep")
        self.count += len(node.value)
        if self.count > self.max_nodes:
            raise _whole(self.name, f"more than {self.max_nodes} values (an alias bomb?)")
        keys, active = self.keys, self.active
        active.add(id(node))
        if expected == MAP:
            for key_node, _ in node.value:
                if key_node.tag == MERGE:
                    self.merge(node, path)
                    break
            for key_node, value in node.value:
                if not isinstance(key_node, ScalarNode):
                    self.problem(key_node.start_mark, path, f"a key must be a single value, not a {key_node.id}")
                    continue
                self.filled_key(key_node, path)
                if key_node.tag == STR:
                    child = path + (key_node.value,)
                    if id(key_node) in self.unfilled_nodes:  # said once, as missing: no check of what it names
                        self.unfilled.add(child)
                        self.unfilled_keys.add(child)
                else:
                    key, surprise = self.scalar(key_node, path, is_key=True)
                    child = path + (key,)
                    if surprise:
                        self.surprises.append((child, "key " + surprise))
                if child in keys:  # merge() leaves no legitimate repeats
                    self.problem(key_node.start_mark, child, f"duplicate key (first at line {keys[child].line + 1})")
                    continue
                keys[child] = key_node.start_mark
                if id(value) in active:
                    self.problem(key_node.start_mark, child, "recursive alias")
                else:
                    self.walk(value, child, depth + 1)
        else:
            for i, item in enumerate(node.value):
                if id(item) in active:  # the alias has no node of its own: point at the sequence
                    self.problem(node.start_mark, path + (i,), "recursive alias")
                else:
                    self.walk(item, path + (i,), depth + 1)
        active.discard(id(node))

    def merge(self, node: Any, path: Path) -> None:
        """Flatten `<<` merges with PyYAML's own code, then keep each key once: merged pairs come first, so
        the mapping's own keys win. Repeats among its own keys (or a source's) are reported here."""
        self.merging.add(id(node))
        own: dict[Any, Any] = {}
        cycle = False
        for key_node, value in node.value:
            if key_node.tag == MERGE:
                for source in value.value if isinstance(value, SequenceNode) else [value]:
                    if id(source) in self.merging:
                        self.problem(key_node.start_mark, path, "recursive alias")
                        cycle = True
                    elif isinstance(source, MappingNode):
                        self.merge(source, path)  # its own repeats are found even when it is written inline
            elif not isinstance(key_node, ScalarNode):
                self.problem(key_node.start_mark, path, f"a key must be a single value, not a {key_node.id}")
            else:
                key = self.key(key_node, path)
                if key in own:
                    self.problem(key_node.start_mark, path + (key,),
                                 f"duplicate key (first at line {own[key].start_mark.line + 1})")
                else:
                    own[key] = key_node
        if not cycle:
            try:
                self.loader.flatten_mapping(node)
            except yaml.MarkedYAMLError as exc:
                self.problem(exc.problem_mark, path, exc.problem)
        unique = {self.key(k, path): (k, v) for k, v in node.value if isinstance(k, ScalarNode) and k.tag != MERGE}
        node.value = list(unique.values())  # overridden merged values are never constructed
        self.merging.discard(id(node))

    def filled_key(self, node: Any, path: Path) -> bool:
        """Fill a key's placeholders, as a value's are (a tag's key, say), once: whether it held any."""
        if id(node) in self.filled:
            return True
        if node.tag == STR and "${" in node.value and self.fills:
            self.filled.add(id(node))
            self.fill(node, path)
            return True
        return False

    def key(self, node: Any, path: Path) -> Any:
        """A key of a mapping being merged, filled: the merge keeps the mapping's own pairs over merged ones by it."""
        if self.filled_key(node, path):
            self.merged_filled_keys = True
        return node.value if node.tag == STR else self.scalar(node, path, is_key=True)[0]

    def scalar(self, node: Any, path: Path, is_key: bool = False) -> tuple[Any, str | None]:
        """A scalar's value (None for a plain value JSON reads alike) and, if YAML 1.1 reads it otherwise, why."""
        if self.fills and "${" in node.value and node.tag in _SCALAR_TAGS and not is_key \
                and id(node) not in self.filled:
            self.filled.add(id(node))
            self.fill(node, path)
        text, tag = node.value, node.tag
        if tag == STR:
            return text, None
        like_json = not node.style and reads_as_json(tag, text)
        if like_json and not is_key:
            if tag == FLOAT or text.startswith("-0"):
                written = json_text(tag, text)
                if written != text:
                    self.rewritten.append((path, text, written))
            return None, None  # construction cannot fail either
        if tag not in _SCALAR_TAGS:
            self.problem(node.start_mark, path, f"unsupported tag {tag.replace(TAG, '!!')}")
            return text, None
        try:
            value = self.loader.construct_object(node)  # remembered: construction later reuses it
        except _BAD_VALUE:
            self.problem(node.start_mark, path, f"{text!r} is not a valid {tag.replace(TAG, '!!')}")
            return text, None
        if is_key:  # JSON names a key by text: one YAML reads as another value's text (`1.50:` is "1.5") is a surprise
            return value, None if node.style or yaml11.key_text(value) == text else surprise(text, value)
        return value, None if node.style or like_json else surprise(text, value)

    def fill(self, node: Any, path: Path) -> None:
        """The placeholders filled (esmctl.placeholders); a plain scalar that is just one is typed as if written so."""
        text = node.value
        self.touched.append((node, text, node.tag))
        node.value, bad, missing = placeholders.fill(text, self.variables)
        for written in bad:
            self.problem(node.start_mark, path, f"{written} {placeholders.NOT_ONE}")
        for name in missing:
            self.problem(node.start_mark, path, f"no value for ${{{name}}}: pass --var {name}=... "
                                                "or set it in the environment", self.missing)
        if bad or missing:
            self.unfilled_nodes.add(id(node))
        # An empty value stays "" (not null, which would unset a parameter); one written with a tag keeps its tag.
        elif not node.style and placeholders.whole(text) and node.value.strip() and not self.tagged(node):
            node.tag = self.loader.resolve(ScalarNode, node.value, (True, False))

    def tagged(self, node: Any) -> bool:
        """Written with a tag (`!!str ${N}`, `! ${N}`, `&a !!str ${N}`)? The composed node has STR either way: the
        text says (a node starts at its anchor, or at its tag; a tag may follow its anchor on the next line)."""
        self._lines = self._lines if self._lines is not None else self.text.splitlines()
        rest = " ".join(self._lines[node.start_mark.line:node.start_mark.line + 2])[node.start_mark.column:]
        words = rest.split(None, 1) or [""]
        return words[-1 if rest.startswith("&") else 0].startswith("!")
