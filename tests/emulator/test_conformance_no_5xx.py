"""No request a client can send yields a 5xx: random members and values for every operation the worker uses.

Only throttling (knob) and injected faults may answer 5xx, as in AWS; they are off here.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator import backup_api, rds_api
from emulator.wire import service_model

BACKUP = service_model("backup")
RDS = service_model("rds")
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
JSON = {"Content-Type": "application/json"}
SLOW_OK = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _members(shape) -> list[str]:
    return list(shape.members) if shape is not None else []


@st.composite
def backup_requests(draw):
    op = BACKUP.operation_model(draw(st.sampled_from(sorted(backup_api.HANDLERS))))
    path = op.http["requestUri"].split("?", 1)[0]
    labels = re.findall(r"\{([^}]+)\}", path)
    for label in labels:
        path = path.replace("{" + label + "}", quote(draw(st.text(min_size=1, max_size=20)), safe=""))
    names = _members(op.input_shape)
    body = draw(st.dictionaries(st.sampled_from(names) if names else st.text(max_size=5), values, max_size=4))
    raw_body = json.dumps(body).encode() if draw(st.booleans()) else draw(st.binary(max_size=40))
    query = draw(
        st.dictionaries(
            st.sampled_from(["maxResults", "status", "createdAfter", "nextToken", "x"]),
            st.text(max_size=12),
            max_size=3,
        )
    )
    return op.http["method"], path + ("?" + urlencode(query) if query else ""), raw_body


@st.composite
def rds_requests(draw):
    action = draw(st.sampled_from(sorted(rds_api.HANDLERS)))
    op = RDS.operation_model(action)
    names = _members(op.input_shape)
    keys = (
        st.sampled_from(names)
        | st.sampled_from([f"{n}.member.1" for n in names] + ["Filters.Filter.1.Name", "Tags.Tag.1.Key"])
        if names
        else st.text(max_size=8)
    )
    fields = draw(st.dictionaries(keys, st.text(max_size=25), max_size=5))
    return urlencode({"Action": action, "Version": "2014-10-31", **fields}).encode()


@pytest.mark.usefixtures("cleanup_instances")
@SLOW_OK
@given(request=backup_requests())
def test_no_backup_request_yields_a_5xx(raw, emulator, request):
    method, path, body = request
    response = raw(emulator.url, method, path, body, JSON)
    assert response.status < 500, (method, path, body, response.body)
    if response.status >= 400:
        assert "x-amzn-ErrorType" in response.headers


@pytest.mark.usefixtures("cleanup_instances")
@SLOW_OK
@given(body=rds_requests())
def test_no_rds_request_yields_a_5xx(raw, emulator, body):
    response = raw(emulator.url, "POST", "/", body, FORM)
    assert response.status < 500, (body, response.body)
    if response.status >= 400:
        assert b"<ErrorResponse" in response.body and b"<Type>Sender</Type>" in response.body
