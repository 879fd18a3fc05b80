"""The evidence adapters (S3 records and manifests, the chain heads in DynamoDB, KMS signatures) and the failure
notes raise the worker's own error tree, not botocore's: a throttled or failing call is `ServiceUnavailable`
(retryable), a refused one `RequestRefused`, each with AWS's code. The calls go through real aiobotocore clients
to a local endpoint that answers every request with the error as AWS words it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from aiohttp import web

from worker.adapters.dead_letters import FailureNotes
from worker.adapters.evidence import ChainLedger, KmsSigner, S3Evidence
from worker.errors import RequestRefused, ServiceUnavailable, ValidatorError
from worker.http import start_server


@asynccontextmanager
async def refusing_endpoint(status: int, code: str) -> AsyncIterator[str]:
    """Every call answered with `status` and AWS error `code` (JSON for KMS/DynamoDB, XML for S3)."""

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        if request.headers.get("X-Amz-Target"):
            body = f'{{"__type": "{code}", "message": "refused by the test endpoint"}}'
            return web.Response(status=status, text=body, content_type="application/x-amz-json-1.1")
        body = f"<Error><Code>{code}</Code><Message>refused by the test endpoint</Message></Error>"
        return web.Response(status=status, text=body, content_type="application/xml")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner, port = await start_server(app, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def client(service: str, url: str) -> AsyncIterator[Any]:
    config = AioConfig(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=5, read_timeout=10)
    async with get_session().create_client(
        service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s",
        config=config,
    ) as made:  # fmt: skip
        yield made


CALLS: dict[str, tuple[str, Callable[[Any], Awaitable[Any]]]] = {
    "kms sign": ("kms", lambda c: KmsSigner(c, "alias/evidence", "ECDSA_SHA_256").sign(b"manifest")),
    "kms verify": ("kms", lambda c: KmsSigner(c, "alias/evidence", "ECDSA_SHA_256").verify(b"m", b"sig")),
    "chain head": ("dynamodb", lambda c: ChainLedger(c, "ledger").head("arn:source")),
    "failure note": ("dynamodb", lambda c: FailureNotes(c, "ledger").note("m-1", "malformed", "detail", 1)),
    "s3 put": ("s3", lambda c: S3Evidence(c, "records").put_json("manifests/2026-12-06.json", {"a": 1})),
    "s3 get": ("s3", lambda c: S3Evidence(c, "records").get_json("validations/x.json")),
    "s3 list": ("s3", lambda c: S3Evidence(c, "records").keys("validations/")),
}

JSON_ANSWERS = [(400, "ThrottlingException", ServiceUnavailable), (400, "AccessDeniedException", RequestRefused),
                (500, "InternalFailure", ServiceUnavailable)]  # fmt: skip
S3_ANSWERS = [(503, "SlowDown", ServiceUnavailable), (403, "AccessDenied", RequestRefused)]


def cases() -> list[Any]:
    found = []
    for name, (service, _) in CALLS.items():
        for status, code, expected in S3_ANSWERS if service == "s3" else JSON_ANSWERS:
            found.append(pytest.param(name, status, code, expected, id=f"{name}-{code}"))
    return found


@pytest.mark.parametrize(("call", "status", "code", "expected"), cases())
async def test_an_evidence_call_that_fails_raises_the_workers_error_class(call, status, code, expected):
    service, run = CALLS[call]
    async with refusing_endpoint(status, code) as url, client(service, url) as made:
        with pytest.raises(ValidatorError) as raised:
            await run(made)
    assert type(raised.value) is expected
    assert raised.value.code == code  # type: ignore[attr-defined]


async def test_the_adapters_own_answers_still_come_first():
    """A missing record is None and a signature KMS finds invalid is False, not errors."""
    async with refusing_endpoint(404, "NoSuchKey") as url, client("s3", url) as s3:
        assert await S3Evidence(s3, "records").get_json("validations/missing.json") is None
    async with refusing_endpoint(400, "KMSInvalidSignatureException") as url, client("kms", url) as kms:
        assert await KmsSigner(kms, "alias/evidence", "ECDSA_SHA_256").verify(b"m", b"sig") is False
