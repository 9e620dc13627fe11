"""What botocore's Lambda service model says about a mapping's fields, read once per process.

Which members CreateEventSourceMapping has that UpdateEventSourceMapping lacks (create-only: a change
means a new mapping), which nested members the documentation calls immutable, which kinds of source
a member is for. The model and the checks (model.py, schema.py) and the AWS client (aws.py) all read
botocore's data through the one loader here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import botocore.exceptions
import botocore.loaders
import botocore.session

from esmctl import kinds


def shared_loader(session: botocore.session.Session) -> _Loader:
    """The data loader for `session`: one per data path in the process."""
    return _Loader.for_session(session)


class _Loader(botocore.loaders.Loader):
    """botocore's data loader, but whether it ships a model is asked of that service's own directory.

    Before loading the first model of each kind (service-2, endpoint-rule-set-1, paginators-1), botocore
    lists every service it ships, some 440 directories and 2,700 stat calls each time: 50-110 ms of every
    command, most of it right before the first Lambda call. The full list is still made for the message
    of an unknown service, which is the only other use of it.
    """

    _shared: dict[str, _Loader] = {}

    @classmethod
    def for_session(cls, session: botocore.session.Session) -> _Loader:
        """The loader botocore would make (AWS_DATA_PATH's directories first), of this class — one per data
        path in the process, so that every session reads a model once (the checks of schema.py and the
        Lambda client share the Lambda model)."""
        data_path = session.get_config_variable("data_path") or ""
        if data_path not in cls._shared:
            extra = [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep)] if data_path \
                else []
            cls._shared[data_path] = cls(extra_search_paths=extra)
        return cls._shared[data_path]

    def list_available_services(self, type_name: str) -> _Services:
        return _Services(self, type_name)


class _Services:
    """The services a loader has models of, for `name in services`; listed in full only if iterated."""

    def __init__(self, loader: _Loader, type_name: str) -> None:
        self._loader, self._type_name = loader, type_name

    def __contains__(self, service_name: object) -> bool:
        try:
            return bool(self._loader.list_api_versions(service_name, self._type_name))
        except botocore.exceptions.DataNotFoundError:
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(botocore.loaders.Loader.list_available_services(self._loader, self._type_name))


@cache
def _service_model(service: str = "lambda"):
    import botocore.session

    session = botocore.session.get_session()
    session.register_component("data_loader", shared_loader(session))
    return session.get_service_model(service)


def input_shape(operation: str = "CreateEventSourceMapping"):
    return _service_model().operation_model(operation).input_shape


def kinesis_member(operation: str, member: str):
    """A member of a Kinesis request (ConsumerName of RegisterStreamConsumer): its type, length and pattern."""
    return _service_model("kinesis").operation_model(operation).input_shape.members[member]


def member_names(operation: str = "CreateEventSourceMapping") -> list[str]:
    return list(input_shape(operation).members)


# -- what the model says about the fields ----------------------------------------------------------
# Kinds of source as the model's documentation names them in the "(Kinesis, DynamoDB Streams, Amazon
# MSK, and self-managed Apache Kafka)" that opens a member's documentation.
_SCOPE_WORDS = (("self-managed", kinds.KAFKA), ("Kinesis", kinds.KINESIS), ("DynamoDB", kinds.DYNAMODB),
                ("SQS", kinds.SQS), ("MSK", kinds.MSK), ("MQ", kinds.MQ), ("DocumentDB", kinds.DOCDB))
# Members the model describes in prose rather than with a scope.
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
    return frozenset(set(member_names("CreateEventSourceMapping")) - set(member_names("UpdateEventSourceMapping")))


@cache
def updatable() -> frozenset[str]:
    members = set(member_names("UpdateEventSourceMapping"))
    kafka = input_shape().members.get("SelfManagedKafkaEventSourceConfig")
    if "AmazonManagedKafkaEventSourceConfig" not in members or kafka is None \
            or "ConsumptionMode" not in kafka.members:
        import botocore

        from esmctl.errors import EsmctlError

        raise EsmctlError(f"botocore {botocore.__version__} is too old: its Lambda model lacks fields esmctl relies on "
                          f"(Kafka's ConsumptionMode), so it would refuse or replace what AWS takes; pip install "
                          f"'botocore>={MIN_BOTOCORE}'")
    return frozenset(members - {"UUID", "FunctionName"})


@cache
def immutable_members() -> dict[str, frozenset[str]]:
    """Nested members of updatable structures that the model's documentation says cannot be updated
    (Kafka's ConsumerGroupId): field -> member names."""
    out: dict[str, frozenset[str]] = {}
    for name, shape in input_shape("UpdateEventSourceMapping").members.items():
        if shape.type_name != "structure":
            continue
        fixed = frozenset(member for member, sub in shape.members.items()
                          if re.search(r"cannot (be )?(update|change)", _text(sub.documentation)))
        if fixed:
            out[name] = fixed
    return out


@cache
def kinds_of(member: str) -> frozenset[str]:
    """The kinds of source a CreateEventSourceMapping member is for (every kind when the model says none)."""
    if member in _SCOPE_OVERRIDES:
        return frozenset(_SCOPE_OVERRIDES[member])
    shape = input_shape().members.get(member)
    scope = re.match(r"\s*\(([^)]*)\)", _text(shape.documentation if shape is not None else ""))
    if not scope:
        return frozenset(kinds.KINDS)
    return frozenset(kind for word, kind in _SCOPE_WORDS if word in scope.group(1)) or frozenset(kinds.KINDS)


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


@cache
def access_types() -> dict[str, AccessType]:
    """The rules of each SourceAccessConfiguration Type, read from the model's documentation of the Type member:
    `<code>IAM_AUTH</code> – (Self-managed Apache Kafka) ... Omit the URI field for this type.`"""
    shape = _service_model().shape_for("SourceAccessConfiguration").members["Type"]
    names = set(shape.enum)
    found: dict[str, dict] = {}
    for item in re.findall(r"<li>(.*?)</li>", shape.documentation or "", re.S):
        m = re.match(r"\s*(?:<p>)?\s*<code>([A-Z0-9_]+)</code>\s*[–-]+\s*\(([^)]*)\)(.*)", item, re.S)
        if not m or m.group(1) not in names:
            continue
        name, scope, text = m.group(1), m.group(2), " ".join(_text(m.group(3)).split())
        rule = found.setdefault(name, {"kinds": set(_ACCESS_TYPE_KINDS.get(name, ())), "uri": True,
                                       "requires": set(), "excludes": set(), "create_only": False})
        rule["kinds"] |= {kind for word, kind in _SCOPE_WORDS if word.lower() in scope.lower()}
        if re.search(r"omit the URI", text, re.I):
            rule["uri"] = False
        needs = re.search(r"requires (.*?)(?: and does not|\.|$)", text)
        if needs:
            rule["requires"] |= set(re.findall(r"[A-Z][A-Z0-9_]+", needs.group(1))) & names
        others = re.search(r"does not support the other ([A-Z][A-Z0-9_]*) types", text)
        if others:
            rule["excludes"] |= {t for t in names if t.startswith(others.group(1) + "_")} - rule["requires"] - {name}
        if re.search(r"cannot be specified in an UpdateEventSourceMapping", text):
            rule["create_only"] = True
    return {name: AccessType(frozenset(r["kinds"]), r["uri"], frozenset(r["requires"]), frozenset(r["excludes"]),
                             r["create_only"]) for name, r in found.items()}


def _text(html: str | None) -> str:
    return re.sub(r"<[^>]+>", "", html or "")
