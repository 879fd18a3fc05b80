"""What the container tests tell at the end of the run (conftest's terminal summary): the engine, the builds and
their times, the image sizes, and every reason a test was skipped, so no skip is silent."""

from __future__ import annotations

import pytest

REPORT: list[str] = []
SKIPPED: list[str] = []


def note(line: str) -> None:
    REPORT.append(line)


def skip(reason: str) -> None:
    """Skip the requesting test, and say why at the end of the run."""
    if reason not in SKIPPED:
        SKIPPED.append(reason)
    pytest.skip(reason)
