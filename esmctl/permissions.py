"""What an event source mapping's execution role must allow, and a reading of IAM policies that says whether they
do (doctor's `permissions` check; IAM's policy simulator decides where it may be called)."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from esmctl import arns, kinds
from esmctl.mapping import identity

NEEDED_ACTIONS = {
    kinds.KINESIS: ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                    "kinesis:GetShardIterator", "kinesis:ListShards", "kinesis:ListStreams"],
    kinds.DYNAMODB: ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                     "dynamodb:ListStreams"],
    kinds.SQS: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
}
# The AWS managed policy that grants NEEDED_ACTIONS for each kind of source (not the destinations').
MANAGED_POLICY = {kinds.KINESIS: "AWSLambdaKinesisExecutionRole", kinds.DYNAMODB: "AWSLambdaDynamoDBExecutionRole",
                  kinds.SQS: "AWSLambdaSQSQueueExecutionRole"}
# What an on-failure destination needs (the Lambda guide's on-failure pages): each action, what to add to the
# destination's ARN for the resource it is asked of, and for the resource a fix grants it on. S3's PutObject applies
# to an object: one with the key Lambda writes (the Kinesis on-failure page: aws/lambda/<ESM UUID>/<shard>/<date>/…),
# so that a role scoped to that prefix passes and one denied it does not; its ListBucket applies to the bucket.
DESTINATION_ACTIONS = {"sqs": (("sqs:SendMessage", "", ""),), "sns": (("sns:Publish", "", ""),),
                       "s3": (("s3:PutObject", "/aws/lambda/{uuid}/failed-batch", "/*"), ("s3:ListBucket", "", ""))}


def needed(m: dict[str, Any]) -> list[tuple[str, str]]:
    """(action, resource) pairs the execution role needs for this mapping."""
    source = m.get("EventSourceArn", "")
    kind = identity.source_type(m)
    parsed = arns.parse(source)
    # Through a Kinesis consumer: the stream's actions apply to the stream, SubscribeToShard to the consumer.
    stream = str(parsed.stream) if parsed is not None and parsed.is_consumer else source
    out = [(a, stream) for a in NEEDED_ACTIONS.get(kind, [])]
    if stream != source:
        out.append(("kinesis:SubscribeToShard", source))
    return out + _destination_permissions(m)


def _destination_actions(m: dict[str, Any]) -> tuple[str, tuple[tuple[str, str, str], ...]]:
    """The mapping's OnFailure destination ("" without one) and what it needs (DESTINATION_ACTIONS)."""
    dest = ((m.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination") or ""
    destination = arns.parse(dest) if dest else None
    return dest, DESTINATION_ACTIONS.get(destination.service, ()) if destination is not None else ()


def _destination_permissions(m: dict[str, Any]) -> list[tuple[str, str]]:
    dest, actions = _destination_actions(m)
    return [(action, dest + asked.format(uuid=m.get("UUID") or "UUID")) for action, asked, _ in actions]


def _granted_on(m: dict[str, Any], action: str) -> str:
    dest, actions = _destination_actions(m)
    return dest + next((granted for a, _, granted in actions if a == action), "")


def allowed_by_documents(documents: list[Any], action: str, resource: str) -> bool | None:
    """A reading of identity policies: True or False where the statements decide it, None where a
    condition they carry could go either way (only IAM's policy simulator can tell then)."""
    allowed, undecided, denied_maybe = False, False, False
    for doc in documents:
        if isinstance(doc, str):
            doc = json.loads(doc)
        statements = doc.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        for st in statements:
            if not (_matches(st, "Action", action, str.lower) and _matches(st, "Resource", resource)):
                continue
            conditional = bool(st.get("Condition"))
            if st.get("Effect") == "Deny":
                if not conditional:
                    return False
                denied_maybe = True
            elif st.get("Effect") == "Allow":
                if conditional:
                    undecided = True
                else:
                    allowed = True
    if denied_maybe or (undecided and not allowed):
        return None
    return allowed


def _matches(statement: dict[str, Any], element: str, value: str, fold=lambda s: s) -> bool:  # noqa: ANN001
    """Does Action/Resource (or NotAction/NotResource) of a statement cover the value?"""
    for name, inverted in ((element, False), (f"Not{element}", True)):
        if name in statement:
            patterns = statement[name]
            patterns = [patterns] if isinstance(patterns, str) else patterns
            hit = any(fnmatch.fnmatchcase(fold(value), fold(p)) for p in patterns)
            return hit != inverted
    return element == "Resource"  # an identity policy without Resource applies to every resource


def fix(m: dict[str, Any], missing: list[tuple[str, str]]) -> str:
    """Add them; the managed policy of this mapping's kind of source covers the source's actions, not the
    destination's, which are named apart, each with the resource it applies to."""
    policy = MANAGED_POLICY.get(identity.source_type(m))
    destination = _destination_permissions(m)
    own = [a for a, r in missing if (a, r) not in destination]
    theirs = [(a, r) for a, r in missing if (a, r) in destination]
    parts = []
    if own:
        parts.append(f"attach the {policy} managed policy to the role" if policy
                     else f"allow {', '.join(own)} on the source")
    if theirs:
        parts.append("allow " + ", ".join(f"{a} on {_granted_on(m, a)}" for a, _ in theirs))
    return "; ".join(parts)
