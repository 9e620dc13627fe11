"""What botocore's Lambda service model says about a mapping's fields.

Which members CreateEventSourceMapping has that UpdateEventSourceMapping lacks (create-only: a change
means a new mapping), which nested members the documentation calls immutable, which kinds of source
a member is for. The mapping model and the checks (mapping/, schema.py) and the AWS client (esmctl/aws/) all read
botocore's data through the one loader here.

What the model's structure says (members, types, enums, bounds) is derived from botocore's model. What it says
only in its HTML documentation (a member's kinds of source, immutable members, the access types' rules) is read
from servicemodel_rules.py, a table generated from that documentation (servicemodel_docs.py) and checked in.

Deriving the structural rules (and resolving the request shapes the spec checks walk) costs every command tens of
milliseconds, for answers that change only with botocore's data: they are kept in the user's cache directory
($XDG_CACHE_HOME/esmctl, else ~/.cache/esmctl), one file per botocore version, and derived again when that file
is missing, unreadable, of another version or format, or cannot be written (then each run derives its own).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

from esmctl import kinds, servicemodel_rules

CACHE_FORMAT = 2
# The requests whose shapes the checks walk, kept in the cache.
_OPERATIONS = ("CreateEventSourceMapping", "UpdateEventSourceMapping")
_KINESIS_MEMBERS = (("RegisterStreamConsumer", "ConsumerName"),)
_MAX_DEPTH = 30  # the mapping requests nest about 5 deep; a recursive shape is not flattened into the cache


def shared_loader(session: Any) -> Any:
    """The data loader for `session`: one per data path in the process."""
    return _loader_class().for_session(session)


@cache
def _loader_class() -> type:
    import botocore.exceptions
    import botocore.loaders

    class _Loader(botocore.loaders.Loader):
        """botocore's data loader, but whether it ships a model is asked of that service's own directory.

        Before loading the first model of each kind (service-2, endpoint-rule-set-1, paginators-1), botocore
        lists every service it ships, some 440 directories and 2,700 stat calls each time: 50-110 ms of every
        command, most of it right before the first Lambda call. The full list is still made for the message
        of an unknown service, which is the only other use of it.
        """

        _shared: dict[str, Any] = {}

        @classmethod
        def for_session(cls, session: Any) -> Any:
            """The loader botocore would make (AWS_DATA_PATH's directories first), of this class — one per data
            path in the process, so that every session reads a model once (the checks of schema.py and the
            Lambda client share the Lambda model)."""
            data_path = session.get_config_variable("data_path") or ""
            if data_path not in cls._shared:
                extra = [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep)] \
                    if data_path else []
                cls._shared[data_path] = cls(extra_search_paths=extra)
            return cls._shared[data_path]

        def list_available_services(self, type_name: str) -> _Services:
            return _Services(self, type_name)

    class _Services:
        """The services a loader has models of, for `name in services`; listed in full only if iterated."""

        def __init__(self, loader: Any, type_name: str) -> None:
            self._loader, self._type_name = loader, type_name

        def __contains__(self, service_name: object) -> bool:
            try:
                return bool(self._loader.list_api_versions(service_name, self._type_name))
            except botocore.exceptions.DataNotFoundError:
                return False

        def __iter__(self) -> Iterator[str]:
            return iter(botocore.loaders.Loader.list_available_services(self._loader, self._type_name))

    return _Loader


@cache
def service_model(service: str = "lambda") -> Any:
    """botocore's model of `service`, read through the shared loader."""
    import botocore.session

    session = botocore.session.get_session()
    session.register_component("data_loader", shared_loader(session))
    return session.get_service_model(service)


def input_shape(operation: str = "CreateEventSourceMapping") -> Any:
    """The request's shape: what the checks read of botocore's (type_name, members, metadata, enum...), from the
    cache for the mapping requests."""
    shapes = rules().get("inputs")
    if shapes and operation in shapes:
        return _shape(operation)
    return service_model().operation_model(operation).input_shape


def kinesis_member(operation: str, member: str) -> Any:
    """A member of a Kinesis request (ConsumerName of RegisterStreamConsumer): its type, length and pattern."""
    shapes = rules().get("kinesis")
    if shapes and f"{operation}.{member}" in shapes:
        return Shape(shapes[f"{operation}.{member}"])
    return _kinesis_member(operation, member)


def _kinesis_member(operation: str, member: str) -> Any:
    return service_model("kinesis").operation_model(operation).input_shape.members[member]


@cache
def _shape(operation: str) -> Shape:
    return Shape(rules()["inputs"][operation])


class Shape:
    """A request shape as the cache keeps it, read through the attributes of botocore's shapes that esmctl uses."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data
        self.name: str = data["name"]
        self.type_name: str = data["type"]
        self.metadata: dict[str, Any] = data.get("metadata", {})
        self.documentation: str = data.get("documentation", "")

    @property
    def required_members(self) -> list[str]:
        return self.metadata.get("required", [])

    @property
    def enum(self) -> list[str]:
        return self.metadata.get("enum", [])

    @cached_property
    def members(self) -> dict[str, Shape]:
        return {name: Shape(sub) for name, sub in self._data.get("members", {}).items()}

    @cached_property
    def member(self) -> Shape:
        return Shape(self._data["member"])

    @cached_property
    def key(self) -> Shape:
        return Shape(self._data["key"])

    @cached_property
    def value(self) -> Shape:
        return Shape(self._data["value"])


def _flattened(shape: Any, depth: int = 0) -> dict[str, Any]:
    """A botocore shape as plain data (its members resolved as botocore resolves them)."""
    if depth > _MAX_DEPTH:
        raise RecursionError(f"{shape.name} nests more than {_MAX_DEPTH} levels")
    out: dict[str, Any] = {"name": shape.name, "type": shape.type_name, "metadata": shape.metadata,
                           "documentation": shape.documentation or ""}
    if shape.type_name == "structure":
        out["members"] = {name: _flattened(sub, depth + 1) for name, sub in shape.members.items()}
    elif shape.type_name == "list":
        out["member"] = _flattened(shape.member, depth + 1)
    elif shape.type_name == "map":
        out["key"], out["value"] = _flattened(shape.key, depth + 1), _flattened(shape.value, depth + 1)
    return out


def member_names(operation: str = "CreateEventSourceMapping") -> list[str]:
    return list(input_shape(operation).members)


# -- the cache ---------------------------------------------------------------------------------------------
def cache_dir() -> str:
    """Where esmctl keeps what it derives: $XDG_CACHE_HOME/esmctl, else ~/.cache/esmctl."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "esmctl")


def _cache_key() -> str | None:
    """What the rules depend on: botocore's version and where it reads models from; None when a model of the
    user's own (AWS_DATA_PATH, ~/.aws/models) may stand in for the shipped one, which no version names."""
    import botocore

    if os.environ.get("AWS_DATA_PATH") or os.path.isdir(os.path.expanduser("~/.aws/models")):
        return None
    return f"botocore {botocore.__version__}, format {CACHE_FORMAT}, rules {_rules_digest()}"


def _rules_digest() -> str:
    """This module's own text: another esmctl (its overrides, its derivation) derives other rules from the same
    botocore, so an upgrade of esmctl alone must not read the rules an older one cached."""
    import hashlib

    with open(__file__, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()[:16]


def _cache_path(key: str) -> str:
    version = key.split(",")[0].split()[-1]
    return os.path.join(cache_dir(), f"servicemodel-{version}-{CACHE_FORMAT}-{_rules_digest()}.json")


@cache
def rules() -> dict[str, Any]:
    """The rules of this botocore's model: from the cache when it holds them, else derived (and cached)."""
    key = _cache_key()
    if key is None:
        return derive()
    path = _cache_path(key)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        if isinstance(data, dict) and data.get("key") == key:
            return data
    except (OSError, ValueError):
        pass  # missing, unreadable or corrupt: derived again, and written over
    data = {"key": key, **derive()}
    _write(path, data)
    return data


def _write(path: str, data: dict[str, Any]) -> None:
    """Written whole or not at all (a file beside it, renamed over it), never failing the command."""
    import tempfile

    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".servicemodel-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, separators=(",", ":"))
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass  # an unwritable cache: the next run derives the rules again


def derive() -> dict[str, Any]:
    """The structural rules, read from botocore's model (what the cache keeps)."""
    out: dict[str, Any] = {
        "create_only": sorted(_create_only()),
        "updatable": sorted(_updatable()) if _updatable() is not None else None,
    }
    try:
        out["inputs"] = {op: _flattened(_live_input_shape(op)) for op in _OPERATIONS}
        out["kinesis"] = {f"{op}.{m}": _flattened(_kinesis_member(op, m)) for op, m in _KINESIS_MEMBERS}
    except RecursionError:
        pass  # the checks walk botocore's own shapes
    return out


def _live_input_shape(operation: str) -> Any:
    return service_model().operation_model(operation).input_shape


def _member_names(operation: str) -> list[str]:
    return list(_live_input_shape(operation).members)


# -- what the model says about the fields ----------------------------------------------------------
# Members the model describes in prose rather than with a scope: these come before servicemodel_rules.KINDS.
_SCOPE_OVERRIDES = {
    "Topics": (kinds.MSK, kinds.KAFKA),
    "SelfManagedEventSource": (kinds.KAFKA,),
    "SelfManagedKafkaEventSourceConfig": (kinds.KAFKA,),
    "AmazonManagedKafkaEventSourceConfig": (kinds.MSK,),
    "DocumentDBEventSourceConfig": (kinds.DOCDB,),
    "StartingPosition": (kinds.KINESIS, kinds.DYNAMODB, kinds.MSK, kinds.KAFKA, kinds.DOCDB),
    "StartingPositionTimestamp": (kinds.KINESIS, kinds.MSK, kinds.KAFKA, kinds.DOCDB),
    # Secrets and network settings of the sources Lambda connects to itself (the SourceAccessConfiguration
    # shape's types: BASIC_AUTH for MQ and DocumentDB, SASL, TLS and VPC for Kafka).
    "SourceAccessConfigurations": (kinds.MSK, kinds.KAFKA, kinds.MQ, kinds.DOCDB),
    # The Lambda guide: "Lambda doesn't support event filtering for Amazon DocumentDB".
    "FilterCriteria": tuple(k for k in kinds.KINDS if k != kinds.DOCDB),
    # The metrics page: event source mapping metrics for SQS, Kinesis, DynamoDB, MSK and self-managed Kafka.
    "MetricsConfig": (kinds.SQS, kinds.KINESIS, kinds.DYNAMODB, kinds.MSK, kinds.KAFKA),
}


# The first botocore whose Lambda model has every field esmctl names (SelfManagedKafkaEventSourceConfig.ConsumptionMode
# came last; the OAUTHBEARER/IAM access types in 1.43.110): pyproject.toml's floor.
MIN_BOTOCORE = "1.43.123"


@cache
def create_only() -> frozenset[str]:
    """Members of CreateEventSourceMapping that UpdateEventSourceMapping lacks: a change means a new mapping."""
    return frozenset(rules()["create_only"])


@cache
def updatable() -> frozenset[str]:
    members = rules()["updatable"]
    if members is None:
        import botocore

        from esmctl.errors import EsmctlError

        raise EsmctlError(f"botocore {botocore.__version__} is too old: its Lambda model lacks fields esmctl relies on "
                          f"(Kafka's ConsumptionMode), so it would refuse or replace what AWS takes; pip install "
                          f"'botocore>={MIN_BOTOCORE}'")
    return frozenset(members)


@cache
def immutable_members() -> dict[str, frozenset[str]]:
    """Nested members of updatable structures that the model's documentation says cannot be updated
    (Kafka's ConsumerGroupId): field -> member names."""
    return {k: frozenset(v) for k, v in servicemodel_rules.IMMUTABLE.items()}


@cache
def kinds_of(member: str) -> frozenset[str]:
    """The kinds of source a CreateEventSourceMapping member is for: the overrides' word, else the scope its
    documentation opens with, else every kind (the model says none, or it is no member of the request)."""
    if member in _SCOPE_OVERRIDES:
        return frozenset(_SCOPE_OVERRIDES[member])
    return frozenset(servicemodel_rules.KINDS.get(member, kinds.KINDS))


@cache
def access_types() -> dict[str, AccessType]:
    """The rules of each SourceAccessConfiguration Type, as the model's documentation of the Type member gives
    them (`<code>IAM_AUTH</code> – (Self-managed Apache Kafka) ... Omit the URI field for this type.`)."""
    return {name: AccessType(frozenset(t["kinds"]) | frozenset(_ACCESS_TYPE_KINDS.get(name, ())), t["uri"],
                             frozenset(t["requires"]), frozenset(t["excludes"]), t["create_only"])
            for name, t in servicemodel_rules.ACCESS_TYPES.items()}


# -- deriving them from botocore's model -------------------------------------------------------------------
def _create_only() -> frozenset[str]:
    return frozenset(set(_member_names("CreateEventSourceMapping")) - set(_member_names("UpdateEventSourceMapping")))


def _updatable() -> frozenset[str] | None:
    """UpdateEventSourceMapping's members but the identity; None for a model older than esmctl needs (one that cannot
    update Kafka settings, or has no Kafka ConsumptionMode)."""
    members = set(_member_names("UpdateEventSourceMapping"))
    kafka = _live_input_shape("CreateEventSourceMapping").members.get("SelfManagedKafkaEventSourceConfig")
    if "AmazonManagedKafkaEventSourceConfig" not in members or kafka is None \
            or "ConsumptionMode" not in kafka.members:
        return None
    return frozenset(members - {"UUID", "FunctionName"})


@dataclass(frozen=True)
class AccessType:
    """What the model's documentation says of one SourceAccessConfiguration Type."""

    kinds: frozenset[str]  # the kinds of source it is for
    uri: bool  # whether it takes a URI ("Omit the URI field for this type": no)
    requires: frozenset[str]  # it needs one of these types beside it
    excludes: frozenset[str]  # types it does not go with
    create_only: bool  # "cannot be specified in an UpdateEventSourceMapping API call"


# The Lambda guide gives DocumentDB its credentials as BASIC_AUTH too; the model's list of types names MQ and Kafka.
_ACCESS_TYPE_KINDS = {"BASIC_AUTH": (kinds.DOCDB,)}
