"""aiobotocore clients, created once per worker and shared by every job.

Endpoints come only from the standard AWS variables (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>), which
botocore honours by itself: there is no local mode here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.context import get_context
from botocore.exceptions import BotoCoreError, ClientError
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from worker.errors import RequestRefused, ServiceUnavailable, ValidatorError
from worker.metrics import Metrics

SERVICES = ("sqs", "s3", "dynamodb", "logs", "backup", "rds", "ec2", "kms")
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "RequestThrottled",
    }
)


@dataclass(frozen=True)
class AwsClients:
    sqs: Any
    s3: Any
    dynamodb: Any
    logs: Any
    backup: Any
    rds: Any
    ec2: Any
    kms: Any
    # DynamoDB again, on connections of its own, for keeping leases (ledger renewals, fleet slots, the runner
    # lease): with thousands of messages in hand, claims fill the main client's pool and a renewal queued behind
    # them could wait past its lease.
    leases: Any


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, else None."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "")) or None
    return None


def translated(exc: BaseException) -> ValidatorError | None:
    """What the worker's error tree calls a botocore (or network) error; None for anything else.
    Throttling, 5xx and the network may pass later; any other refusal will not."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        retryable = code in THROTTLING_CODES or status >= 500
        return (ServiceUnavailable if retryable else RequestRefused)(str(exc)[:500], code=code)
    if isinstance(exc, BotoCoreError | OSError | asyncio.TimeoutError):
        return ServiceUnavailable(f"{type(exc).__name__}: {exc}"[:500])
    return None


def _translating(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except Exception as exc:
            error = translated(exc)
            if error is None:
                raise
            raise error from exc

    return call


_Adapter = TypeVar("_Adapter", bound=type)


def translate_errors(cls: _Adapter) -> _Adapter:
    """Class decorator: every public coroutine method raises the worker's errors, not botocore's. The method's
    own handling of specific codes (NotFound, InstanceNotReady...) runs first."""
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.iscoroutinefunction(member):
            setattr(cls, name, _translating(member))
    return cls


def _count_calls(metrics: Metrics, service: str) -> Any:
    def before_send(**kwargs: Any) -> None:
        operation = kwargs.get("event_name", "").rsplit(".", 1)[-1]
        metrics.aws_api_calls.labels(service, operation).inc()

    return before_send


def _count_errors(metrics: Metrics, service: str) -> Any:
    def needs_retry(**kwargs: Any) -> None:
        response = kwargs.get("response")
        operation = kwargs.get("operation")
        if response is None or operation is None:
            if kwargs.get("caught_exception") is not None and operation is not None:
                metrics.aws_api_errors.labels(service, operation.name, "ConnectionError").inc()
            return
        parsed = response[1] if isinstance(response, tuple) and len(response) > 1 else {}
        code = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
        if code:
            metrics.aws_api_errors.labels(service, operation.name, str(code)).inc()

    return needs_retry


def _cache_user_agent(client: Any) -> None:
    """botocore rebuilds and sanitises the whole User-Agent string for every request (about a fifth of a
    call's own CPU); it only changes with the call's feature ids (retry mode, paginator...), so it is kept
    per set of them. A no-op where botocore's internals differ."""
    creator = getattr(client, "_user_agent_creator", None)
    build = getattr(creator, "to_string", None)
    if creator is None or build is None:
        return
    cache: dict[frozenset[str], str] = {}

    def to_string() -> str:
        context = get_context()
        key = frozenset(context.features if context is not None else ()) | frozenset(
            getattr(creator, "_client_features", None) or ()
        )
        text = cache.get(key)
        if text is None:
            text = cache[key] = str(build())
        return text

    creator.to_string = to_string


def parse_timestamp(value: Any) -> datetime:
    """Every timestamp in every response goes through this. botocore's own parser builds a dateutil `tzlocal`
    per value (about a twentieth of the worker's CPU); AWS sends epoch seconds (JSON protocols) or ISO 8601
    (XML), both of which the standard library parses directly. Anything else (RFC 822 headers) goes to botocore.
    Always timezone-aware UTC."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    result: datetime = botocore_parse_timestamp(value)
    return result.astimezone(UTC)


@contextlib.asynccontextmanager
async def open_clients(
    metrics: Metrics,
    *,
    max_pool: int = 100,
    lease_pool: int = 40,
    max_attempts: int = 10,
    region: str | None = None,
) -> AsyncIterator[AwsClients]:
    """One client per service for the life of the worker (and one more for leases, `AwsClients.leases`, with
    `lease_pool` connections); every HTTP attempt and error is counted."""
    session = get_session()
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_timestamp)

    def config(pool: int) -> AioConfig:
        return AioConfig(
            retries={"mode": "standard", "max_attempts": max_attempts},
            max_pool_connections=pool,
            connect_timeout=10,
            read_timeout=40,  # above SQS's 20 s long poll
        )

    async with contextlib.AsyncExitStack() as stack:
        clients: dict[str, Any] = {}
        for name, service, pool in (*((s, s, max_pool) for s in SERVICES), ("leases", "dynamodb", lease_pool)):
            client = await stack.enter_async_context(
                session.create_client(service, config=config(pool), region_name=region)
            )
            client.meta.events.register("before-send", _count_calls(metrics, service))
            client.meta.events.register("needs-retry", _count_errors(metrics, service))
            _cache_user_agent(client)
            clients[name] = client
        yield AwsClients(**clients)
