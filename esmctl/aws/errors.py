"""The typed errors of the AWS boundary: every botocore failure leaves esmctl.aws as one of these.

No other module reads botocore's error codes: `typed` maps them, `describe_error` says any failure in one
plain sentence (never with credentials), `explain` prefixes what was being done.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import botocore.exceptions
import botocore.parsers

from esmctl.errors import EsmctlError, UsageProblem


class AwsError(EsmctlError):
    """An AWS call that failed, said in one sentence (never with credentials); `code` is AWS's."""

    def __init__(self, message: str, *, code: str = "", operation: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.operation = operation

    def prefixed(self, what: str) -> AwsError:
        return type(self)(f"{what}: {self.message}", code=self.code, operation=self.operation)


class NotFound(AwsError):
    """The resource does not exist (ResourceNotFoundException)."""


class Conflict(AwsError):
    """It exists already (ResourceConflictException: a mapping of this function and source)."""


class InUse(AwsError):
    """It is busy changing (ResourceInUseException): wait for it to settle and try again."""


class Throttled(AwsError):
    """Still throttled after botocore's retries (TooManyRequestsException and kin)."""


class AccessDenied(AwsError):
    """The caller may not do this."""


class InvalidRequest(AwsError):
    """AWS (or botocore, before sending) refused the parameters."""


class InvalidParameters(InvalidRequest, UsageProblem):
    """botocore refused the parameters before sending: as given on the command line, a usage error."""


_BY_CODE: dict[str, type[AwsError]] = {
    "ResourceNotFoundException": NotFound, "NotFoundException": NotFound, "NoSuchEntity": NotFound,
    "ResourceConflictException": Conflict,
    "ResourceInUseException": InUse,
    "TooManyRequestsException": Throttled, "ThrottlingException": Throttled, "Throttling": Throttled,
    "LimitExceededException": Throttled, "RequestLimitExceeded": Throttled,
    "AccessDeniedException": AccessDenied, "AccessDenied": AccessDenied, "UnauthorizedOperation": AccessDenied,
    "InvalidParameterValueException": InvalidRequest, "ValidationException": InvalidRequest,
    "InvalidArgumentException": InvalidRequest, "InvalidRequestContentException": InvalidRequest,
}


def describe_error(exc: BaseException) -> str:
    """One plain sentence for an AWS or connection failure (never credentials)."""
    if isinstance(exc, AwsError):
        return exc.message
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        code = err.get("Code") or "Error"
        message = (err.get("Message") or exc.response.get("message") or "").strip()
        op = exc.operation_name
        return f"{op}: {code}: {message}" if message else f"{op}: {code}"
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return f"cannot reach {exc.kwargs.get('endpoint_url', 'the AWS endpoint')}: is the endpoint right and up?"
    if isinstance(exc, botocore.exceptions.ConnectTimeoutError):
        return f"timed out connecting to {exc.kwargs.get('endpoint_url', 'the AWS endpoint')}"
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or pass --profile"
    if isinstance(exc, botocore.exceptions.ProfileNotFound):
        return f"AWS profile not found: {exc.kwargs.get('profile')}"
    if isinstance(exc, botocore.exceptions.NoRegionError):
        return "no AWS region: pass --region or set AWS_REGION"
    if isinstance(exc, botocore.exceptions.ParamValidationError):
        return str(exc).replace("\n", " ").strip()
    if isinstance(exc, botocore.parsers.ResponseParserError):
        return "the endpoint sent a reply that is not an AWS response (an HTML error page?)"
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return str(exc).splitlines()[0]
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


BOTOCORE_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError,
                    botocore.parsers.ResponseParserError)


def typed(exc: BaseException) -> AwsError:
    """The typed error for a botocore failure."""
    if isinstance(exc, AwsError):
        return exc
    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        cls = _BY_CODE.get(code) or (NotFound if status == 404 else AwsError)
        return cls(describe_error(exc), code=code, operation=exc.operation_name)
    if isinstance(exc, botocore.exceptions.ParamValidationError):
        return InvalidParameters(describe_error(exc))
    return AwsError(describe_error(exc))


@contextmanager
def translated() -> Iterator[None]:
    """Raise a botocore failure inside the block as its typed error."""
    try:
        yield
    except BOTOCORE_ERRORS as exc:
        raise typed(exc) from exc


@contextmanager
def explain(what: str) -> Iterator[None]:
    """Say what was being done when an AWS call inside the block failed: `what: AWS's message`."""
    try:
        yield
    except AwsError as exc:
        raise exc.prefixed(what) from exc
    except BOTOCORE_ERRORS as exc:
        raise typed(exc).prefixed(what) from exc
