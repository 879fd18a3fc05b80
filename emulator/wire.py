"""Wire formats driven by botocore's own service models.

Responses are serialised by walking the botocore output shape, so field names, nesting and list element
names are the ones the real SDKs parse; a handler that returns a field the model does not know fails loudly
instead of silently sending something AWS never would.
"""

from __future__ import annotations

import functools
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape


class ApiError(Exception):
    """An error answered to the client in the service's own error format."""

    def __init__(self, code: str, message: str, status: int = 400, sender: bool = True) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.sender = sender


@functools.cache
def service_model(name: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(name)


def request_id() -> str:
    return str(uuid.uuid4())


def iso8601(value: datetime) -> str:
    """AWS style UTC timestamp with milliseconds, e.g. 2020-07-15T21:40:31.207Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    text = str(value)
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# ---------------------------------------------------------------- JSON (Backup, rest-json)


def to_json_value(shape: Shape, value: Any) -> Any:
    if isinstance(shape, StructureShape):
        return _json_structure(shape, value)
    if isinstance(shape, ListShape):
        return [to_json_value(shape.member, item) for item in value]
    if isinstance(shape, MapShape):
        return {str(k): to_json_value(shape.value, v) for k, v in value.items()}
    if shape.type_name == "timestamp":
        return parse_timestamp(value).timestamp()
    if shape.type_name in ("integer", "long"):
        return int(value)
    if shape.type_name in ("float", "double"):
        return float(value)
    if shape.type_name == "boolean":
        return bool(value)
    return value


def _json_structure(shape: StructureShape, value: dict[str, Any]) -> dict[str, Any]:
    unknown = set(value) - set(shape.members)
    if unknown:
        raise KeyError(f"{shape.name} has no member(s) {sorted(unknown)}")
    return {name: to_json_value(shape.members[name], item) for name, item in value.items() if item is not None}


def json_body(op: OperationModel, output: dict[str, Any] | None) -> bytes:
    if op.output_shape is None or not output:
        return b"{}"
    return json.dumps(_json_structure(op.output_shape, output)).encode()


def json_error_body(err: ApiError) -> bytes:
    return json.dumps({"Code": err.code, "Message": err.message, "Type": "User" if err.sender else "Server"}).encode()


# ---------------------------------------------------------------- XML (RDS, query protocol)


def _xml(shape: Shape, value: Any, tag: str, out: list[str]) -> None:
    if isinstance(shape, ListShape):
        out.append(f"<{tag}>")
        item_tag = shape.member.serialization.get("name", "member")
        for item in value:
            _xml(shape.member, item, item_tag, out)
        out.append(f"</{tag}>")
    elif isinstance(shape, StructureShape):
        out.append(f"<{tag}>")
        _xml_members(shape, value, out)
        out.append(f"</{tag}>")
    elif isinstance(shape, MapShape):
        out.append(f"<{tag}>")
        for key, item in value.items():
            out.append(f"<entry><key>{escape(str(key))}</key>")
            _xml(shape.value, item, "value", out)
            out.append("</entry>")
        out.append(f"</{tag}>")
    else:
        out.append(f"<{tag}>{escape(_xml_scalar(shape, value))}</{tag}>")


def _xml_scalar(shape: Shape, value: Any) -> str:
    if shape.type_name == "boolean":
        return "true" if value else "false"
    if shape.type_name == "timestamp":
        return iso8601(parse_timestamp(value))
    return str(value)


def _xml_members(shape: StructureShape, value: dict[str, Any], out: list[str]) -> None:
    unknown = set(value) - set(shape.members)
    if unknown:
        raise KeyError(f"{shape.name} has no member(s) {sorted(unknown)}")
    for name, member in shape.members.items():
        item = value.get(name)
        if item is not None:
            _xml(member, item, member.serialization.get("name", name), out)


def xml_body(op: OperationModel, output: dict[str, Any] | None, namespace: str, req_id: str) -> bytes:
    out = [f'<{op.name}Response xmlns="{namespace}">']
    shape = op.output_shape
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper", f"{op.name}Result")
        out.append(f"<{wrapper}>")
        _xml_members(shape, output or {}, out)
        out.append(f"</{wrapper}>")
    out.append(f"<ResponseMetadata><RequestId>{req_id}</RequestId></ResponseMetadata></{op.name}Response>")
    return "".join(out).encode()


def xml_error_body(err: ApiError, namespace: str, req_id: str) -> bytes:
    kind = "Sender" if err.sender else "Receiver"
    return (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>{kind}</Type><Code>{escape(err.code)}</Code>'
        f"<Message>{escape(err.message)}</Message></Error><RequestId>{req_id}</RequestId></ErrorResponse>"
    ).encode()


# ---------------------------------------------------------------- query-protocol input


def _tree(form: dict[str, str]) -> dict[str, Any]:
    """Nest flat keys such as ``Filters.Filter.1.Values.Value.1`` into dictionaries."""
    root: dict[str, Any] = {}
    for key, value in form.items():
        node = root
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {} if child is None else {"": child}
                node[part] = child
            node = child
        node[parts[-1]] = value
    return root


def _indexed(node: Any) -> list[Any]:
    if not isinstance(node, dict):
        return []
    items = [(int(k), v) for k, v in node.items() if k.isdigit()]
    return [v for _, v in sorted(items)]


def _decode(shape: Shape, node: Any) -> Any:
    if isinstance(shape, StructureShape):
        if not isinstance(node, dict):
            return {}
        result = {}
        for name, member in shape.members.items():
            key = member.serialization.get("name", name)
            if key in node:
                result[name] = _decode(member, node[key])
        return result
    if isinstance(shape, ListShape):
        if shape.serialization.get("flattened"):
            return [_decode(shape.member, v) for v in _indexed(node)]
        inner = node.get(shape.member.serialization.get("name", "member")) if isinstance(node, dict) else None
        return [_decode(shape.member, v) for v in _indexed(inner)]
    if isinstance(shape, MapShape):
        entries = _indexed(node.get("entry")) if isinstance(node, dict) else []
        return {e.get("key"): _decode(shape.value, e.get("value")) for e in entries}
    return scalar(shape, node)


def scalar(shape: Shape, raw: Any) -> Any:
    """A wire string as the member's type; ValueError when it is not one (the caller answers a 400)."""
    if raw is None:
        return None
    text = str(raw)
    match shape.type_name:
        case "integer" | "long":
            return int(text)
        case "float" | "double":
            return float(text)
        case "boolean":
            if text.lower() not in ("true", "false"):
                raise ValueError(f"{text!r} is not a boolean")
            return text.lower() == "true"
        case "timestamp":
            return parse_timestamp(text)
    return text


def decode_query(op: OperationModel, form: dict[str, str]) -> dict[str, Any]:
    """Query-protocol input as a dict of typed members; a value of the wrong type is InvalidParameterValue."""
    if op.input_shape is None:
        return {}
    try:
        decoded: dict[str, Any] = _decode(op.input_shape, _tree(form))
    except ValueError as exc:
        raise ApiError("InvalidParameterValue", f"Invalid parameter value: {exc}") from exc
    return decoded


def decode_json_body(shape: StructureShape | None, body: Any) -> dict[str, Any]:
    """Convert rest-json body members (timestamps arrive as epoch numbers); anything but an object is a 400."""
    if shape is None:
        return {}
    if not isinstance(body, dict):
        raise ApiError("InvalidParameterValueException", "The request body must be a JSON object.")
    result: dict[str, Any] = {}
    for name, value in body.items():
        member = shape.members.get(name)
        if member is None or member.serialization.get("location"):
            continue
        result[name] = _json_timestamp(name, value) if member.type_name == "timestamp" else value
    return result


def _json_timestamp(name: str, value: Any) -> datetime:
    try:
        return parse_timestamp(value)
    except (ValueError, OverflowError, OSError) as exc:
        raise ApiError("InvalidParameterValueException", f"Invalid timestamp for {name}: {value!r}") from exc
