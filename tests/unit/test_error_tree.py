"""Adapters raise the worker's own errors, so the consumer decides from the class alone."""

import asyncio

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from worker.adapters.aws import translate_errors, translated
from worker.background import periodic
from worker.errors import NotFound, Permanent, RequestRefused, Retryable, ServiceUnavailable


def client_error(code: str, status: int) -> ClientError:
    response = {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "DescribeRestoreJob")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (client_error("ThrottlingException", 400), ServiceUnavailable),
        (client_error("ProvisionedThroughputExceededException", 400), ServiceUnavailable),
        (client_error("InternalFailure", 500), ServiceUnavailable),
        (client_error("ValidationException", 400), RequestRefused),
        (client_error("ConditionalCheckFailedException", 400), RequestRefused),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), ServiceUnavailable),
        (ConnectionResetError(), ServiceUnavailable),
        (TimeoutError(), ServiceUnavailable),
    ],
)
def test_library_errors_map_onto_the_tree(exc, expected):
    error = translated(exc)
    assert type(error) is expected
    assert isinstance(error, Retryable) != isinstance(error, Permanent)


def test_a_refusal_keeps_its_aws_code():
    error = translated(client_error("ValidationException", 400))
    assert isinstance(error, RequestRefused) and error.code == "ValidationException"


def test_other_errors_are_not_ours_to_name():
    assert translated(ValueError("bug")) is None
    assert translated(NotFound("gone")) is None


@translate_errors
class Adapter:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    async def call(self) -> None:
        try:
            raise self.error
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                raise NotFound("job not found") from None
            raise


async def test_an_adapter_s_own_handling_comes_first_and_the_rest_is_translated():
    with pytest.raises(NotFound):
        await Adapter(client_error("ResourceNotFoundException", 400)).call()
    with pytest.raises(ServiceUnavailable) as raised:
        await Adapter(client_error("Throttling", 400)).call()
    assert isinstance(raised.value.__cause__, ClientError)


async def test_a_periodic_job_survives_its_failures():
    runs: list[int] = []
    logged: list[str] = []

    class Log:
        def warning(self, event, **fields):
            logged.append(event)

    async def job():
        runs.append(len(runs))
        if len(runs) == 1:
            raise ServiceUnavailable("Throttling")

    task = asyncio.create_task(periodic(0.01, job, Log(), "job.failed", at_start=True))
    for _ in range(200):
        if len(runs) >= 3:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    assert len(runs) >= 3 and logged == ["job.failed"]
