"""moto in server mode, counting every request by service and operation (``GET /_bench/counts``).

Run as its own process (``python -m bench.moto_counting --port N``) so that its CPU is not the worker's.
Served by waitress (a development dependency) rather than werkzeug, for keep-alive connections.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_S3_OPS = {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


def operation_of(environ: Environ, body: bytes) -> tuple[str, str]:
    """(service, operation) of one AWS request: JSON target header, query-protocol Action, or S3 REST."""
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    service = match.group(1) if match else "unknown"
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return service, target.rsplit(".", 1)[-1]
    for part in body.decode("utf-8", "replace").split("&"):
        if part.startswith("Action="):
            return service, part[len("Action=") :]
    if service == "s3":
        method = str(environ.get("REQUEST_METHOD", "GET"))
        path = environ.get("PATH_INFO", "/").strip("/")
        if method == "GET" and "/" not in path:
            return service, "ListObjects"
        return service, _S3_OPS.get(method, method)
    return service, str(environ.get("REQUEST_METHOD", "?"))


class Counting:
    """WSGI middleware around moto's application."""

    def __init__(self, app: Callable[[Environ, StartResponse], Iterable[bytes]]) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        # moto's TransactWriteItems deep-copies the whole table and, when cancelled, puts the copy back: a write
        # of another thread in between is lost, and a copy taken mid-update can keep a half-written item. DynamoDB
        # isolates transactions from other writes, so here every DynamoDB request runs alone.
        self._dynamodb = threading.Lock()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/_bench/counts":
            with self._lock:
                body = json.dumps(dict(self.counts)).encode()
                if environ.get("REQUEST_METHOD") == "POST":
                    self.counts.clear()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        import io

        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        service, operation = operation_of(environ, raw)
        with self._lock:
            self.counts[f"{service}:{operation}"] += 1
        if service == "dynamodb":
            with self._dynamodb:
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


def speed_up_moto_sqs() -> None:
    """Hot spots of moto's SQS that real SQS does not have, costly with thousands of messages in flight: a
    datetime-based clock read per message per visibility test, every queue attribute (message counts included)
    recomputed per message received, for its retention period, and a list built per message scanned to find a
    receipt handle (ChangeMessageVisibility). Same results, a much smaller constant."""
    import time

    from moto.core import utils
    from moto.sqs import models

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else utils.unix_time(dt)

    def unix_time_millis(dt: Any = None) -> float:
        return unix_time(dt) * 1000.0

    def retained(self: Any, queue_name: str, message: Any) -> bool:
        period = int(self.get_queue(queue_name).message_retention_period)
        return bool(period + message.sent_timestamp / 1000 > time.time())

    def had_receipt_handle(self: Any, receipt_handle: str) -> bool:
        return bool(receipt_handle == self.receipt_handle or receipt_handle in self._old_receipt_handles)

    models.Message.had_receipt_handle = had_receipt_handle  # type: ignore[method-assign]
    models.unix_time = unix_time  # type: ignore[attr-defined]
    models.unix_time_millis = unix_time_millis  # type: ignore[attr-defined]
    models.SQSBackend.is_message_valid_based_on_retention_period = retained  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.moto_counting")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from waitress import serve

    logging.getLogger("waitress").setLevel(logging.ERROR)
    speed_up_moto_sqs()
    app = Counting(DomainDispatcherApplication(create_backend_app))
    print(f"listening http://{args.host}:{args.port}", flush=True)
    # waitress keeps connections alive, as AWS endpoints do (moto's own werkzeug server closes each one).
    serve(app, host=args.host, port=args.port, threads=8, connection_limit=1000, channel_timeout=300, ident=None)


if __name__ == "__main__":
    main()
