"""Keeping credentials out of error texts: drivers and libraries sometimes echo DSNs or settings."""

from __future__ import annotations

import re

_DSN_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^\s/@]+@", re.IGNORECASE)
_PASSWORD_SETTING = re.compile(
    r"""\b(password|passwd|pwd|secret)(\s*[=:]\s*)(?:'[^']*'|"[^"]*"|[^\s,;)\]'"]+)""", re.IGNORECASE
)


def scrub_secrets(text: str) -> str:
    """Remove credentials that error texts sometimes carry (DSNs, `password=...`)."""
    text = _DSN_CREDENTIALS.sub(r"\1***@", text)
    return _PASSWORD_SETTING.sub(r"\1\2***", text)


def safe_message(exc: BaseException, limit: int = 500) -> str:
    """An exception as `Class: text`, without credentials and not endlessly long."""
    text = scrub_secrets(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    return text if len(text) <= limit else text[: limit - 3] + "..."
