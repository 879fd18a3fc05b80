"""REST-JSON request routing and decoding, with the URI templates taken from the botocore model."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from botocore.model import OperationModel, ServiceModel

from emulator.wire import ApiError, decode_json_body, scalar


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    labels: tuple[str, ...]
    literal_len: int
    op: OperationModel


def _compile(op: OperationModel) -> Route:
    path = op.http["requestUri"].split("?", 1)[0]
    labels: list[str] = []
    regex = ""
    literal = 0
    for piece in re.split(r"(\{[^}]+\})", path):
        if piece.startswith("{"):
            name = piece[1:-1]
            greedy = name.endswith("+")
            labels.append(name.rstrip("+"))
            regex += "(.+)" if greedy else "([^/]+)"
        else:
            regex += re.escape(piece)
            literal += len(piece)
    return Route(op.http["method"], re.compile(f"^{regex}$"), tuple(labels), literal, op)


class Router:
    """Finds the operation for a method and a raw (still percent-encoded) path."""

    def __init__(self, model: ServiceModel) -> None:
        routes = [_compile(model.operation_model(name)) for name in model.operation_names]
        # More literal text means a more specific template: /backup-vaults/ beats /{x}.
        self._routes = sorted(routes, key=lambda r: -r.literal_len)

    def match(self, method: str, raw_path: str) -> tuple[OperationModel, dict[str, str]] | None:
        for route in self._routes:
            if route.method != method:
                continue
            found = route.pattern.match(raw_path)
            if found:
                values = {label: unquote(v) for label, v in zip(route.labels, found.groups(), strict=True)}
                return route.op, values
        return None


def decode_request(
    op: OperationModel, uri: dict[str, str], query_string: str, headers: Any, body: bytes
) -> dict[str, Any]:
    shape = op.input_shape
    if shape is None:
        return {}
    query = parse_qs(query_string, keep_blank_values=True)
    try:
        params = decode_json_body(shape, json.loads(body) if body else {})
    except ValueError as exc:
        raise ApiError("InvalidParameterValueException", "The request body is not valid JSON.") from exc
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        if location == "uri" and wire_name in uri:
            params[name] = uri[wire_name]
        elif location == "querystring" and wire_name in query:
            values = query[wire_name]
            if member.type_name == "list":
                params[name] = [_query_scalar(member.member, name, v) for v in values]
            else:
                params[name] = _query_scalar(member, name, values[0])
        elif location == "header" and wire_name in headers:
            params[name] = _query_scalar(member, name, headers[wire_name])
    return params


def _query_scalar(member: Any, name: str, raw: str) -> Any:
    try:
        return scalar(member, raw)
    except (ValueError, OverflowError, OSError) as exc:
        raise ApiError("InvalidParameterValueException", f"Invalid value for parameter {name}: {raw}") from exc
