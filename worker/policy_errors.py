"""Policy errors that point at the line: map pydantic's error locations back to the TOML text."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic_core import ErrorDetails

CHECK_KINDS = ("freshness", "row_count", "sql", "schema", "plugin", "item_count", "partiql", "items", "table")

Loc = tuple[str | int, ...]


class PolicyError(ValueError):
    """The policy cannot be used. `problem` is the first problem; `others` lists any further ones."""

    def __init__(self, source: str, line: int | None, problem: str, others: Sequence[str] = ()) -> None:
        self.source = source
        self.line = line
        self.problem = problem
        self.others = tuple(others)
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return "\n".join([f"{where}: {self.problem}", *self.others])


def syntax_error(exc: tomllib.TOMLDecodeError, text: str, source: str) -> PolicyError:
    message = str(exc)
    position = re.search(r"\(at line (\d+), column (\d+)\)$", message)
    if position:
        problem = f"TOML syntax error: {message[: position.start()].strip()} (column {position[2]})"
        return PolicyError(source, int(position[1]), problem)
    # tomllib says "at end of document" for errors it only notices there (e.g. an unterminated string)
    return PolicyError(source, max(1, len(text.splitlines())), f"TOML syntax error: {message}")


def validation_problem(error: ErrorDetails) -> tuple[Loc, str]:
    loc = error["loc"]
    if len(loc) > 4 and loc[0] == "selection" and loc[2] == "check" and loc[4] in CHECK_KINDS:
        loc = loc[:4] + loc[5:]  # drop the union tag pydantic inserts for the discriminated check kinds
    kind, message = error["type"], error["msg"]
    if kind == "missing":
        return loc, f'missing required key "{loc[-1]}"'
    if kind == "extra_forbidden":
        return loc, f'unknown key "{loc[-1]}"'
    if kind in ("tuple_type", "list_type") and isinstance(error["input"], dict):
        header = ".".join(part for part in loc if isinstance(part, str))
        return loc, f"must be an array of tables: write [[{header}]], with double brackets"
    if kind == "union_tag_not_found":
        return loc, f'missing "kind" (one of: {", ".join(CHECK_KINDS)})'
    if kind == "union_tag_invalid":
        return loc, f'unknown check kind "{error["input"].get("kind")}" (one of: {", ".join(CHECK_KINDS)})'
    message = message.removeprefix("Value error, ")
    return loc, message[:1].lower() + message[1:]


AllowedKeys = Callable[[Loc, Mapping[str, Any]], Sequence[str]]


def policy_error(
    problems: list[tuple[Loc, str]], raw: dict[str, Any], text: str, source: str, allowed_keys: AllowedKeys
) -> PolicyError:
    lines = _key_lines(text)
    located = sorted(
        {(_line_of(loc, lines), _describe(loc, problem, raw, allowed_keys)) for loc, problem in problems},
        key=lambda item: (item[0] is None, item[0] or 0, item[1]),
    )
    others = [str(PolicyError(source, line, problem)) for line, problem in located[1:]]
    return PolicyError(source, located[0][0], located[0][1], others)


def _describe(loc: Loc, problem: str, raw: Mapping[str, Any], allowed_keys: AllowedKeys) -> str:
    """`('selection', 0, 'check', 1, 'max_age')` -> `selection "orders" check 2 (freshness): max_age: ...`."""
    where, rest = _owner(loc, raw)
    if problem.startswith(("missing required key", "unknown key")):
        rest = rest[:-1]  # the key is named in the problem itself
        if problem.startswith("unknown key"):
            problem += _suggestion(loc, allowed_keys(loc, raw))
    field = ""
    for part in rest:
        field += f"[{part}]" if isinstance(part, int) else f"{'.' if field else ''}{part}"
    return ": ".join(part for part in (where, field, problem) if part)


def _owner(loc: Loc, raw: Mapping[str, Any]) -> tuple[str, Loc]:
    """Name the table the problem is in: `defaults`, `selection "x"`, `selection "x" check 2 (sql)`."""
    if loc[:1] == ("defaults",):
        return "defaults", loc[1:]
    if loc[:1] != ("selection",) or len(loc) < 2 or not isinstance(loc[1], int):
        return "", loc
    selection = item_at(raw.get("selection"), loc[1])
    name = selection.get("name")
    where = f'selection "{name}"' if isinstance(name, str) else f"selection {loc[1] + 1}"
    if len(loc) >= 4 and loc[2] == "check" and isinstance(loc[3], int):
        kind = item_at(selection.get("check"), loc[3]).get("kind")
        where += f" check {loc[3] + 1}" + (f" ({kind})" if isinstance(kind, str) else "")
        return where, loc[4:]
    return where, loc[2:]


def item_at(items: object, index: int) -> Mapping[str, Any]:
    item = items[index] if isinstance(items, list) and index < len(items) else None
    return item if isinstance(item, dict) else {}


def _suggestion(loc: Loc, allowed: Sequence[str]) -> str:
    """` (did you mean "max_age"?)` for a misspelt key, from the keys the enclosing table allows."""
    if not allowed:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    return f' (did you mean "{close[0]}"?)' if close else f" (allowed: {', '.join(sorted(allowed))})"


# A deliberately small TOML reader: just enough to know on which line each table and key starts.
_HEADER = re.compile(r"\s*\[\[?\s*(?P<path>[^\[\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY = re.compile(rf"\s*(?P<path>{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")


def _key_path(text: str) -> Loc:
    return tuple(m[1] or m[2] or m[3] for m in re.finditer(r""""([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+)""", text))


def _key_lines(text: str) -> dict[Loc, int]:
    """Where each table header and key starts, keyed like pydantic's error locations."""
    lines: dict[Loc, int] = {}
    context: Loc = ()
    counters = {"selection": -1, "check": -1}
    in_multiline = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            in_multiline = "" if in_multiline in line else in_multiline
            continue
        header = _HEADER.match(line)
        key = None if header else _KEY.match(line)
        if header:
            context = _header_context(_key_path(header["path"]), line.lstrip().startswith("[["), counters)
            for length in range(1, len(context) + 1):  # e.g. a [selection] that should have been [[selection]]
                lines.setdefault(context[:length], number)
        elif key:
            lines.setdefault(context + _key_path(key["path"]), number)
        for quotes in ('"""', "'''"):
            if line.count(quotes) % 2:
                in_multiline = quotes
    return lines


def _header_context(path: Loc, is_array: bool, counters: dict[str, int]) -> Loc:
    if path[:1] != ("selection",):
        return path
    if path == ("selection",) and is_array:
        counters["selection"] += 1
        counters["check"] = -1
    selection = ("selection", counters["selection"])
    if path[1:2] != ("check",):
        return selection + path[1:]
    if len(path) == 2 and is_array:
        counters["check"] += 1
    return (*selection, "check", counters["check"], *path[2:])


def _line_of(loc: Loc, lines: Mapping[Loc, int]) -> int | None:
    """The line of the most specific key or table of `loc` that the file spells out."""
    for length in range(len(loc), 0, -1):
        if loc[:length] in lines:
            return lines[loc[:length]]
    return None
