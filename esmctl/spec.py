"""Read a spec file into desired mappings, reporting every problem with its FILE:LINE:COL.

The YAML is composed with PyYAML's safe loader (no Python tags), so every value keeps the
place it was written; keys are the CreateEventSourceMapping parameter names and are checked
against botocore's model (schema.py). Nothing here touches AWS.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from typing import Any

from esmctl import model, schema
from esmctl.errors import SpecError

MAX_BYTES = 1_000_000
MAX_NODES = 200_000  # more than any real spec; stops alias bombs before they expand
TOP_LEVEL = ("version", "region", "defaults", "mappings")
RESERVED = ("Consumer",)
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

Path = tuple[Any, ...]
_KEY = object()  # marks the place of a key rather than its value


@dataclass
class Desired:
    """One mapping the spec asks for, in the API's own parameter names."""

    params: dict[str, Any]
    where: str  # FILE:LINE:COL of the mapping
    consumer: str | None = None

    @property
    def function(self) -> str:
        return self.params["FunctionName"]

    @property
    def source(self) -> str:
        return self.params.get("EventSourceArn", "")

    @property
    def kind(self) -> str:
        return model.source_type(self.params)


@dataclass
class Spec:
    paths: list[str]
    region: str | None  # the spec's `region:`, else the region of its ARNs
    mappings: list[Desired]


class _Doc:
    """A composed YAML document: Python values plus where each came from."""

    def __init__(self, path: str, text: str) -> None:
        import yaml

        self.path = path
        self.marks: dict[Path, tuple[int, int]] = {}
        self.plain: set[Path] = set()  # unquoted scalars: a placeholder there may become a number
        # libyaml's safe loader when PyYAML has it (10x faster); the same safe semantics.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
        try:
            node = loader.get_single_node()
            self._count = 0
            if node is not None:
                self._walk(node, ())
            self.data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()

    def _walk(self, node: Any, path: Path) -> None:
        import yaml

        self._count += 1
        if self._count > MAX_NODES:
            raise _TooBig(f"more than {MAX_NODES} values (an alias bomb?)")
        self.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                k = key.value if isinstance(key, yaml.ScalarNode) else str(key.value)
                self.marks[path + (k, _KEY)] = (key.start_mark.line + 1, key.start_mark.column + 1)
                self._walk(value, path + (k,))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, path + (i,))
        elif isinstance(node, yaml.ScalarNode) and not node.style:  # plain: None (Python) or "" (libyaml)
            self.plain.add(path)

    def at(self, path: Path, key: bool = False) -> str:
        """FILE:LINE:COL of a path (of its key, with key=True), or of its nearest ancestor."""
        probe = tuple(path)
        line, col = self.marks.get((), (1, 1))
        while probe:
            if key and probe + (_KEY,) in self.marks:
                line, col = self.marks[probe + (_KEY,)]
                break
            if probe in self.marks:
                line, col = self.marks[probe]
                break
            probe = probe[:-1]
        return f"{self.path}:{line}:{col}"


class _TooBig(Exception):
    pass


def _api_path(dotted: str) -> Path:
    """'FilterCriteria.Filters[0].Pattern' -> ('FilterCriteria', 'Filters', 0, 'Pattern')."""
    out: list[Any] = []
    for part in dotted.split("."):
        m = re.match(r"^([^\[]*)((?:\[\d+\])*)$", part)
        if not m:
            out.append(part)
            continue
        if m.group(1):
            out.append(m.group(1))
        out.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return tuple(out)


def _substitute(value: Any, path: Path, doc: _Doc, variables: dict[str, str], problems: list[str]) -> Any:
    """Fill ${NAME} from --var, then the environment; a whole plain placeholder keeps YAML typing."""
    import yaml

    if isinstance(value, dict):
        return {k: _substitute(v, path + (k,), doc, variables, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, path + (i,), doc, variables, problems) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def fill(m: re.Match) -> str:
        name = m.group(1)
        if name in variables:
            return variables[name]
        if name in os.environ:
            return os.environ[name]
        field_name = _field_label(path)
        problems.append(f"{doc.at(path)}: {field_name}: no value for ${{{name}}}: pass --var {name}=... "
                        f"or set it in the environment")
        return m.group(0)

    filled = _PLACEHOLDER.sub(fill, value)
    if path in doc.plain and _PLACEHOLDER.fullmatch(value) and filled != value:
        try:
            typed = yaml.safe_load(filled)
        except yaml.YAMLError:
            return filled
        if isinstance(typed, (int, float, bool)):
            return typed
    return filled


def _field_label(path: Path) -> str:
    parts = [p for p in path[2:]] if path[:1] == ("mappings",) else list(path)
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "spec"


def load(path: str, variables: dict[str, str] | None = None, text: str | None = None) -> Spec:
    """Read and check a spec; raise SpecError listing every problem."""
    spec, problems = _load(path, variables, text)
    if problems:
        raise SpecError(sorted(problems, key=_position))
    return spec


def _load(path: str, variables: dict[str, str] | None, text: str | None) -> tuple[Spec, list[str]]:
    """A spec and its problems (the mappings that could be read, for checks across files)."""
    import yaml

    variables = variables or {}
    if text is None:
        try:
            size = os.path.getsize(path)
            if size > MAX_BYTES:
                raise SpecError([f"{path}:1:1: spec: file is {size} bytes; the limit is {MAX_BYTES}"])
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise SpecError([f"{path}: cannot read: {exc.strerror}"]) from exc
        except UnicodeDecodeError as exc:
            raise SpecError([f"{path}:1:1: spec: not UTF-8 text ({exc.reason})"]) from exc
    try:
        doc = _Doc(path, text)
    except _TooBig as exc:
        raise SpecError([f"{path}:1:1: spec: {exc}"]) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else f"{path}:1:1"
        raise SpecError([f"{where}: spec: {exc.problem or exc.context}"]) from exc
    except yaml.YAMLError as exc:
        raise SpecError([f"{path}:1:1: spec: {exc}".replace("\n", " ")]) from exc

    problems: list[str] = []
    data = doc.data
    if not isinstance(data, dict):
        raise SpecError([f"{doc.at(())}: spec: expected a mapping with version and mappings"])
    data = _substitute(data, (), doc, variables, problems)

    for key in data:
        if key not in TOP_LEVEL:
            problems.append(f"{doc.at((key,), key=True)}: {key}: unknown top-level key"
                            + schema.did_you_mean(str(key), list(TOP_LEVEL)))
    if data.get("version") != 1:
        where = doc.at(("version",)) if "version" in data else doc.at(())
        problems.append(f"{where}: version: must be 1, not {data.get('version')!r}")
    region = data.get("region")
    if region is not None and not isinstance(region, str):
        problems.append(f"{doc.at(('region',))}: region: must be a string")
        region = None
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        problems.append(f"{doc.at(('defaults',))}: defaults: must be a mapping of parameters")
        defaults = {}
    mappings = data.get("mappings")
    if not isinstance(mappings, list):
        where = doc.at(("mappings",)) if "mappings" in data else doc.at(())
        problems.append(f"{where}: mappings: {'is required' if mappings is None else 'must be a list'}")
        mappings = []

    allowed = schema.member_names() + list(RESERVED)
    for key in defaults:
        if key not in allowed:
            problems.append(f"{doc.at(('defaults', key), key=True)}: defaults.{key}: unknown parameter"
                            + schema.did_you_mean(str(key), allowed))
        elif key in ("FunctionName", "EventSourceArn"):
            problems.append(f"{doc.at(('defaults', key), key=True)}: defaults.{key}: set it on each mapping")

    desired: list[Desired] = []
    for i, entry in enumerate(mappings):
        base: Path = ("mappings", i)
        if not isinstance(entry, dict):
            problems.append(f"{doc.at(base)}: mappings[{i}]: must be a mapping of parameters")
            continue
        # A default applies where it is valid for the mapping's kind of source (a stream-only default
        # does not make every SQS mapping wrong).
        kind = model.source_type(entry) if isinstance(entry.get("EventSourceArn", ""), str) else ""
        merged = {**{k: v for k, v in defaults.items() if k in allowed and _applies(k, kind)}, **entry}

        def where(key: str, sub: Path = (), entry: dict = entry, base: Path = base) -> str:
            if key in entry:
                return doc.at(base + (key,) + sub, key=not sub)
            if key in defaults:
                return doc.at(("defaults", key) + sub, key=not sub)
            return doc.at(base)

        for key in entry:
            if key not in allowed:
                problems.append(f"{doc.at(base + (key,), key=True)}: {key}: unknown parameter"
                                + schema.did_you_mean(str(key), allowed))
        # null unsets a parameter, e.g. one that `defaults` gives every mapping.
        params = {k: v for k, v in merged.items() if k in allowed and v is not None}
        consumer = params.pop("Consumer", None)
        params = _to_api(params)
        for dotted, message in schema.check_shape(params, schema.input_shape(), ""):
            api = _api_path(dotted)
            problems.append(f"{where(str(api[0]), api[1:])}: {dotted}: {message}")
        if consumer is not None:
            if not isinstance(consumer, str) or not consumer:
                problems.append(f"{where('Consumer')}: Consumer: must be a consumer name")
            elif model.source_type(params) != model.KINESIS or model.is_consumer_arn(params.get("EventSourceArn", "")):
                problems.append(f"{where('Consumer')}: Consumer: needs a Kinesis stream ARN as EventSourceArn")
        for dotted, message in schema.cross_field_problems(params):
            api = _api_path(dotted)
            problems.append(f"{where(str(api[0]), api[1:])}: {dotted}: {message}")
        source = params.get("EventSourceArn")
        if region and isinstance(source, str) and model.arn_region(source) and model.arn_region(source) != region:
            problems.append(f"{where('EventSourceArn')}: EventSourceArn: is in {model.arn_region(source)}, "
                            f"but the spec's region is {region}")
        desired.append(Desired(params=params, where=doc.at(base), consumer=consumer if isinstance(consumer, str)
                               else None))
    return Spec(paths=[path], region=region, mappings=desired), problems


def _applies(key: str, kind: str) -> bool:
    return not kind or key in RESERVED or kind in schema.kinds_of(key)


def load_files(paths: list[str] | tuple[str, ...], variables: dict[str, str] | None = None) -> Spec:
    """Read several spec files (`-` is standard input) as one spec: every problem of every file."""
    problems: list[str] = []
    loaded: list[Spec] = []
    for path in paths:
        try:
            spec, found = _load("<stdin>", variables, sys.stdin.read()) if path == "-" else _load(path, variables, None)
        except SpecError as exc:  # unreadable: nothing more to say about this file
            problems.extend(exc.problems)
            continue
        loaded.append(spec)
        problems.extend(found)
    mappings = [m for s in loaded for m in s.mappings]
    problems += _duplicates(mappings)
    problems.sort(key=lambda p: (_file(p), *_position(p)))
    regions = {s.region for s in loaded if s.region}
    if len(regions) > 1:
        problems.append(f"{', '.join(paths)}: region: the files name different regions ({', '.join(sorted(regions))}):"
                        " one run works in one region")
    region = regions.pop() if len(regions) == 1 else None
    if region is None:
        arn_regions = {model.arn_region(a) for m in mappings for a in (m.source, m.params.get("FunctionName", ""))
                       if isinstance(a, str) and a.startswith("arn:") and model.arn_region(a)}
        if len(arn_regions) > 1:
            problems.append(f"{', '.join(paths)}: region: the spec's ARNs are in several regions "
                            f"({', '.join(sorted(arn_regions))}): one run works in one region; split the spec")
        elif arn_regions:
            region = arn_regions.pop()  # a spec with no region: key is in the region of its ARNs
    if problems:
        raise SpecError(problems)
    return Spec(paths=list(paths), region=region, mappings=mappings)


def _duplicates(mappings: list[Desired]) -> list[str]:
    """Two entries for one mapping, as far as the spelling tells without AWS (names vs ARNs are
    compared once the account is known)."""
    seen: dict[tuple, str] = {}
    out = []
    for m in mappings:
        fn = m.params.get("FunctionName")
        if not isinstance(fn, str) or not isinstance(m.params.get("EventSourceArn", ""), str):
            continue
        if m.consumer:
            source, part = model.consumer_identity(m.source, m.consumer), ""
        else:
            source, part = model.source_identity(m.params)
        key = (model.function_spelling_key(fn), source, part)
        if key in seen:
            out.append(f"{m.where}: mapping: the same mapping as at {seen[key]} (same function and source"
                       f"{', topic' if m.kind in model.KAFKA_TYPES else ', queue' if m.kind == model.MQ else ''}): "
                       "Lambda allows one")
        else:
            seen[key] = m.where
    return out


def _file(problem: str) -> str:
    return problem.split(":", 1)[0]


def _position(problem: str) -> tuple[int, int]:
    m = re.match(r"^.*?:(\d+):(\d+): ", problem)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def _to_api(params: dict[str, Any]) -> dict[str, Any]:
    """Spec conveniences turned into the API's form: filter patterns written as mappings."""
    fc = params.get("FilterCriteria")
    if isinstance(fc, dict) and isinstance(fc.get("Filters"), list):
        filters = []
        for f in fc["Filters"]:
            if isinstance(f, dict) and isinstance(f.get("Pattern"), (dict, list)):
                f = {**f, "Pattern": model.pattern_text(f["Pattern"])}
            filters.append(f)
        params = {**params, "FilterCriteria": {**fc, "Filters": filters}}
    return params


def parse_vars(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            from esmctl.errors import EXIT_USAGE, EsmctlError

            raise EsmctlError(f"--var {pair!r}: expected NAME=VALUE", EXIT_USAGE)
        out[name] = value
    return out
