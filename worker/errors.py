"""The worker's error tree. The consumer decides what to do with a message from the class alone: adapters
translate what their libraries raise (botocore, drivers) into these classes before it leaves them."""

from __future__ import annotations


class ValidatorError(Exception):
    """Base of every error the worker raises on purpose."""


class MalformedMessage(ValidatorError):
    """The body is not JSON or not an event we can read; it is left for the DLQ."""


class Retryable(ValidatorError):
    """May pass on a later attempt (throttling, a network blip, a lease held by a dead worker)."""

    def __init__(self, message: str, *, delay_seconds: int | None = None) -> None:
        super().__init__(message)
        self.delay_seconds = delay_seconds


class ServiceUnavailable(Retryable):
    """An AWS call that may pass later: throttled, a server fault, the network (after botocore's own retries)."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class LeaseHeld(Retryable):
    """Another worker holds this recovery point; try again after its lease."""


class NoTimeToUse(Retryable):
    """Too little of the message's in-flight time is left to use a restore: none is started, the message returns."""


class Permanent(ValidatorError):
    """Will not pass by retrying; reported and acknowledged."""


class RequestRefused(Permanent):
    """AWS refused a call in a way retrying will not change (validation, access denied, a condition)."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class NotFound(Permanent):
    """The recovery point, vault or restore job does not exist (any more)."""


class RestoreFailed(Permanent):
    """AWS Backup reported the restore job FAILED or ABORTED."""


class DeadlineExceeded(Permanent):
    """The restore or the restored instance did not become usable within the policy's restore_timeout."""


class PreflightFailed(Permanent):
    """A prerequisite of the restore is missing (subnet group, security group)."""


class NotOurs(Permanent):
    """Refused to modify or delete a resource AWS does not say our restore job created (or one holding a part
    we did not add: an Aurora cluster with a stranger instance)."""


class InstanceNotReady(ValidatorError):
    """RDS refused a change because of the instance's state (still creating, modifying): wait, then retry."""


class QueryError(ValidatorError):
    """A query failed. Adapters raise it with a message that is safe to record (no connection details)."""


class QueryTimeout(QueryError):
    """The statement timeout cut a query short."""


class DatabaseUnavailable(ValidatorError):
    """Could not connect. The message names the engine, host:port and the error, never the password."""


class UnsupportedEngine(DatabaseUnavailable):
    """The engine has no driver here (e.g. an Oracle or SQL Server restore)."""
