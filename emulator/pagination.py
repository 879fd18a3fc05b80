"""NextToken/Marker pagination over in-memory lists."""

from __future__ import annotations

import base64
import heapq
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from emulator.wire import ApiError

T = TypeVar("T")


def _encode(value: int) -> str:
    return base64.urlsafe_b64encode(f"bv:{value}".encode()).decode()


def _decode(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if not text.startswith("bv:"):
            raise ValueError(text)
        return int(text[3:])
    except ValueError as exc:
        raise ApiError("InvalidParameterValueException", "The pagination token is not valid.") from exc


def page(
    items: Sequence[T],
    params: dict[str, Any],
    limit: int,
    key: Callable[[T], int] | None = None,
    size_name: str = "MaxResults",
    token_name: str = "NextToken",  # noqa: S107 - a parameter name, not a secret
    error_code: str = "InvalidParameterValueException",
) -> tuple[list[T], str | None]:
    """One page and the token for the next. With ``key`` the token is the last key returned, so that
    items arriving or leaving between calls neither repeat nor shift the rest (jobs change status)."""
    size = params.get(size_name)
    size = limit if size is None else int(size)
    if not 1 <= size <= limit:
        raise ApiError(error_code, f"{size_name} must be between 1 and {limit}.")
    token = params.get(token_name)
    if key is None:
        start = _decode(token) if token else 0
        chosen = list(items[start : start + size])
        more = start + size < len(items)
        return chosen, (_encode(start + size) if more else None)
    after = _decode(token) if token else -1
    ordered = heapq.nsmallest(size + 1, (i for i in items if key(i) > after), key=key)
    chosen = ordered[:size]
    return chosen, (_encode(key(chosen[-1])) if len(ordered) > size else None)
