"""HTTP entry point: routes a request to Backup (REST-JSON), RDS (Query/XML), DynamoDB (JSON, passed through to
moto: emulator/dynamodb_proxy.py) or the control endpoints."""

from __future__ import annotations

import inspect
import logging
import re
from typing import Any

from aiohttp import web

from emulator import backup_api, control, rds_api
from emulator.core import CALLER_ACCOUNT, Emulator
from emulator.dynamodb_proxy import DynamoDbProxy, is_dynamodb
from emulator.rest import Router, decode_request
from emulator.validate import BACKUP_CODES, RDS_CODES, validate
from emulator.wire import (
    ApiError,
    decode_query,
    json_body,
    json_error_body,
    request_id,
    service_model,
    xml_body,
    xml_error_body,
)

log = logging.getLogger("emulator.http")

# SigV4: Authorization: AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/<region>/<service>/aws4_request, ...
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/[^/,\s]+/aws4_request")
# What AWS answers a request signed for another region than the endpoint's (Backup is REST-JSON, RDS Query).
_WRONG_REGION_CODES = {"backup": "InvalidSignatureException", "rds": "SignatureDoesNotMatch"}

JSON_TYPE = "application/json"
XML_TYPE = "text/xml"


class Dispatcher:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.backup_model = service_model("backup")
        self.rds_model = service_model("rds")
        self.rds_namespace = self.rds_model.metadata["xmlNamespace"]
        self.router = Router(self.backup_model)
        self.dynamodb = DynamoDbProxy(emu)

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/_emulator/"):
            CALLER_ACCOUNT.set(None)  # unsigned: the emulator's own account (see _signed_by)
            return await control.dispatch(self.emu, request)
        if is_dynamodb(request):
            return await self.dynamodb(request)
        if request.method == "POST" and request.rel_url.raw_path == "/":
            return await self.rds(request)
        return await self.backup(request)

    def _signed_by(self, service: str, request: web.Request) -> None:
        """The caller's account from the signing key; a signature scoped to another region is refused, as by AWS
        (an endpoint serves one region: a client must use the region of what it asks about)."""
        found = _CREDENTIAL.search(request.headers.get("Authorization", ""))
        if found is not None and found.group(2) != self.emu.region:
            message = f"Credential should be scoped to a valid region, not '{found.group(2)}'. "
            raise ApiError(_WRONG_REGION_CODES[service], message, 403)
        # Set on every request: requests on one kept-alive connection share the connection task's context.
        CALLER_ACCOUNT.set(self.emu.account_of_key(found.group(1)) if found is not None else None)

    def _account(self, service: str, operation: str) -> None:
        key = f"{service}:{operation}"
        self.emu.store.calls[key] += 1
        if self.emu.faults.throttle(service, operation):
            self.emu.store.throttled[key] += 1
            raise ApiError("ThrottlingException" if service == "backup" else "Throttling", "Rate exceeded")

    async def backup(self, request: web.Request) -> web.StreamResponse:
        req_id = request_id()
        op_name = "Unknown"
        try:
            found = self.router.match(request.method, request.rel_url.raw_path)
            if found is None:
                raise ApiError(
                    "UnknownOperationException", f"No AWS Backup operation at {request.method} {request.path}", 404
                )
            op, uri = found
            op_name = op.name
            self._signed_by("backup", request)
            self._account("backup", op.name)
            handler = backup_api.HANDLERS.get(op.name)
            if handler is None:
                raise ApiError("InvalidRequestException", f"{op.name} is not supported by the backup emulator.")
            body = await request.read()
            params = decode_request(op, uri, request.rel_url.raw_query_string, request.headers, body)
            validate(op, params, BACKUP_CODES)
            output = await _call(handler, self.emu, params)
            status = int(op.http.get("responseCode", 200))
            payload = b"" if status == 204 else json_body(op, output)
            return web.Response(
                body=payload, status=status, content_type=JSON_TYPE, headers={"x-amzn-RequestId": req_id}
            )
        except ApiError as err:
            self.emu.store.errors[f"backup:{op_name}:{err.code}"] += 1
            headers = {"x-amzn-RequestId": req_id, "x-amzn-ErrorType": err.code}
            return web.Response(body=json_error_body(err), status=err.status, content_type=JSON_TYPE, headers=headers)
        except Exception:
            log.exception("backup:%s failed", op_name)
            internal = ApiError("ServiceUnavailableException", "Internal emulator error.", 500, sender=False)
            headers = {"x-amzn-RequestId": req_id, "x-amzn-ErrorType": internal.code}
            return web.Response(body=json_error_body(internal), status=500, content_type=JSON_TYPE, headers=headers)

    async def rds(self, request: web.Request) -> web.StreamResponse:
        req_id = request_id()
        form = {k: str(v) for k, v in (await request.post()).items()}
        action = form.get("Action", "")
        try:
            handler = rds_api.HANDLERS.get(action)
            if handler is None:
                raise ApiError("InvalidAction", f"The action {action} is not valid for this web service.")
            self._signed_by("rds", request)
            self._account("rds", action)
            op = self.rds_model.operation_model(action)
            params = decode_query(op, form)
            validate(op, params, RDS_CODES)
            output = await _call(handler, self.emu, params)
            return web.Response(body=xml_body(op, output, self.rds_namespace, req_id), content_type=XML_TYPE)
        except ApiError as err:
            self.emu.store.errors[f"rds:{action}:{err.code}"] += 1
            body = xml_error_body(err, self.rds_namespace, req_id)
            return web.Response(body=body, status=err.status, content_type=XML_TYPE)
        except Exception:
            log.exception("rds:%s failed", action)
            internal = ApiError("InternalFailure", "Internal emulator error.", 500, sender=False)
            body = xml_error_body(internal, self.rds_namespace, req_id)
            return web.Response(body=body, status=500, content_type=XML_TYPE)


async def _call(handler: Any, emu: Emulator, params: dict[str, Any]) -> dict[str, Any] | None:
    result = handler(emu, params)
    if inspect.isawaitable(result):
        result = await result
    return result  # type: ignore[no-any-return]
