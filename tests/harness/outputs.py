"""Where tests leave what a person may want to look at after the run (gitignored)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Report pages and their screenshots. Imported from here, not from a conftest: test modules of several folders
# would otherwise see whichever `conftest` module pytest loaded first.
REPORT_OUTPUT = REPO / "test-output" / "report"
