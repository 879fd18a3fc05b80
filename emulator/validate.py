"""Input validation against botocore's service model: required members, types, enums and documented ranges.

AWS validates every request before it acts on it and answers a client mistake with a 4xx in the service's own
error vocabulary; the SDKs validate too, but other clients (and botocore with ``parameter_validation=False``)
do not, so the emulator checks the decoded input itself, generically, by walking the operation's input shape.
Patterns are not checked: botocore's are Java regexes that Python's `re` reads differently in places.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from emulator.wire import ApiError


@dataclass(frozen=True)
class Codes:
    """The service's error codes for a missing member and for a bad value."""

    missing: str
    invalid: str


BACKUP_CODES = Codes("MissingParameterValueException", "InvalidParameterValueException")
RDS_CODES = Codes("MissingParameter", "InvalidParameterValue")

# Ranges AWS documents in its API reference but the model does not carry (RDS: "Minimum 20, maximum 100").
DOCUMENTED_RANGES: dict[tuple[str, str], tuple[int, int]] = {
    ("DescribeDBInstances", "MaxRecords"): (20, 100),
    ("DescribeDBSubnetGroups", "MaxRecords"): (20, 100),
}

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "boolean": (bool,),
    "timestamp": (datetime,),
    "blob": (bytes, str),
}


def validate(op: OperationModel, params: dict[str, Any], codes: Codes) -> None:
    """Raise the ApiError AWS would answer for the first problem found in ``params``; None when valid."""
    shape = op.input_shape
    if shape is None:
        return
    _structure(shape, params, "", codes)
    for (operation, member), (low, high) in DOCUMENTED_RANGES.items():
        value = params.get(member)
        if operation == op.name and isinstance(value, int) and not low <= value <= high:
            raise ApiError(codes.invalid, f"Invalid value {value} for {member}. Must be between {low} and {high}.")


def _structure(shape: StructureShape, value: Any, path: str, codes: Codes) -> None:
    if not isinstance(value, dict):
        raise ApiError(codes.invalid, f"{path or shape.name} must be a structure, got {_kind(value)}.")
    for name in shape.required_members:
        if value.get(name) is None:
            raise ApiError(codes.missing, f"The request must contain the parameter {path}{name}.")
    for name, item in value.items():
        member = shape.members.get(name)
        if member is not None and item is not None:
            _value(member, item, f"{path}{name}", codes)


def _value(shape: Shape, value: Any, path: str, codes: Codes) -> None:
    if isinstance(shape, StructureShape):
        _structure(shape, value, path + ".", codes)
        return
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            raise ApiError(codes.invalid, f"{path} must be a list, got {_kind(value)}.")
        _bounds(shape, len(value), path, "items", codes)
        for index, item in enumerate(value):
            _value(shape.member, item, f"{path}[{index}]", codes)
        return
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            raise ApiError(codes.invalid, f"{path} must be a map, got {_kind(value)}.")
        for key, item in value.items():
            _value(shape.key, key, f"{path} key", codes)
            _value(shape.value, item, f"{path}[{key}]", codes)
        return
    _scalar(shape, value, path, codes)


def _scalar(shape: Shape, value: Any, path: str, codes: Codes) -> None:
    expected = _PYTHON_TYPES.get(shape.type_name, (object,))
    wrong_bool = isinstance(value, bool) and shape.type_name != "boolean"
    if wrong_bool or not isinstance(value, expected):
        raise ApiError(codes.invalid, f"Invalid type for {path}: expected {shape.type_name}, got {_kind(value)}.")
    enum = shape.metadata.get("enum")
    if enum and value not in enum:
        raise ApiError(codes.invalid, f"Invalid value {value!r} for {path}; valid values: {', '.join(enum)}.")
    if isinstance(value, str):
        _bounds(shape, len(value), path, "characters", codes)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ApiError(codes.invalid, f"Invalid value {value} for {path}: must be within [{low}, {high}].")


def _bounds(shape: Shape, size: int, path: str, unit: str, codes: Codes) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        raise ApiError(codes.invalid, f"{path} must have at least {low} {unit}.")
    if high is not None and size > high:
        raise ApiError(codes.invalid, f"{path} must have at most {high} {unit}.")


def _kind(value: Any) -> str:
    return type(value).__name__
