"""What both database drivers share: the connection error, identifier quoting, keeping secrets out of text."""

from __future__ import annotations

from collections.abc import Iterable

from worker.errors import DatabaseUnavailable
from worker.policy_fields import table_name_parts
from worker.redact import scrub_secrets

# A query the server should have stopped by itself gets this long before the client gives up on it too.
CLIENT_GRACE_SECONDS = 5.0


def connection_failure(
    engine: str, host: str, port: int, exc: BaseException, secrets: Iterable[str]
) -> DatabaseUnavailable:
    """A DatabaseUnavailable describing `exc` without credentials (drivers may echo DSNs or settings)."""
    detail = f"{type(exc).__name__}: {exc}"
    if exc.__cause__ is not None:
        detail += f" ({type(exc.__cause__).__name__}: {exc.__cause__})"
    return DatabaseUnavailable(f"cannot connect to {engine} at {host}:{port}: {hide(detail, secrets)}")


def hide(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return scrub_secrets(text)


def quote_table(name: str, quote: str) -> str:
    """`sales.orders` -> `"sales"."orders"` (PostgreSQL) or `` `sales`.`orders` `` (MySQL).

    The policy already allows only plain identifiers; checking again here keeps this function safe alone.
    """
    return ".".join(quote + part.replace(quote, quote * 2) + quote for part in table_name_parts(name))


def count_query(quoted_table: str, where: str | None) -> str:
    # `where` comes from the policy file, which is trusted like code; the read-only transaction still applies
    return f"SELECT count(*) FROM {quoted_table}" + (f" WHERE {where}" if where else "")
