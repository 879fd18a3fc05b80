"""moto in server mode, counting every request by service and operation (``GET /_bench/counts``).

Run as its own process (``python -m bench.moto_counting --port N``) so that its CPU is not the worker's.
Served by waitress (a development dependency) rather than werkzeug, for keep-alive connections.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import logging
import os
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
        self._dynamodb = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="dynamodb")

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
            return self._dynamodb.submit(lambda: list(self.app(environ, start_response))).result()
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
    index_receipt_handles(models)


def index_receipt_handles(models: Any) -> None:
    """moto finds the message of a receipt handle by scanning the whole queue, for every ChangeMessageVisibility
    entry and every delete: a heartbeat over n messages in flight costs n * n / 2 tests (50,000 in flight: over a
    billion per heartbeat). SQS has no such cost; here every handle a message was given points to it, and the
    message to its queue, so both are found at once. The same answers: an old handle of a message still works
    (as in moto), an unknown or deleted one is refused the same way. Visible messages are listed without a
    property call per message."""
    import time

    handles: dict[str, Any] = {}
    queue_of: dict[int, Any] = {}  # id(message) -> its queue (not an attribute: moto deep-copies what it returns)
    original_mark_received = models.Message.mark_received
    original_add_message = models.Queue.add_message

    def mark_received(self: Any, visibility_timeout: int | None = None) -> None:
        original_mark_received(self, visibility_timeout)
        handles[self.receipt_handle] = self

    def add_message(self: Any, message: Any) -> None:
        queue_of[id(message)] = self
        original_add_message(self, message)

    def owned(queue: Any, receipt_handle: str) -> Any:
        message = handles.get(receipt_handle)
        return message if message is not None and queue_of.get(id(message)) is queue else None

    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return
        message = owned(self, receipt_handle)
        if message is None:
            raise models.ReceiptHandleIsInvalid()
        try:
            self._messages.remove(message)
        except ValueError:  # purged
            raise models.ReceiptHandleIsInvalid() from None
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)
        queue_of.pop(id(message), None)
        for handle in message.all_receipt_handles:
            handles.pop(handle, None)

    def change_message_visibility(self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
        queue = self.get_queue(queue_name)
        message = owned(queue, receipt_handle)
        if message is None:
            raise models.ReceiptHandleIsInvalid
        visibility_timeout_msec = int(visibility_timeout) * 1000
        if time.time() * 1000 + visibility_timeout_msec - message.sent_timestamp > 43200 * 1000:
            raise models.InvalidParameterValue(
                f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
                "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
            )
        message.change_visibility(visibility_timeout)
        if message.visible and message in queue.pending_messages:
            queue.pending_messages.remove(message)

    def visible_messages(self: Any) -> list[Any]:
        now = time.time() * 1000
        return [m for m in self._messages if m.visible_at < now and m.delayed_until <= now]

    # SendMessage reads the queue's attributes for one of them (ContentBasedDeduplication), and moto computes them
    # all, message counts included: a scan of the queue per message sent, n * n / 2 to fill a queue with n.
    # While a message is being sent, the attributes are that one.
    sending = threading.local()
    full_attributes = models.Queue.attributes
    original_send = models.SQSBackend.send_message

    def attributes(self: Any) -> dict[str, Any]:
        if getattr(sending, "active", False):
            dedup = getattr(self, "content_based_deduplication", False)
            return {"ContentBasedDeduplication": str(dedup).lower()} if self.fifo_queue else {}
        return dict(full_attributes.fget(self))

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        sending.active = True
        try:
            return original_send(self, *args, **kwargs)
        finally:
            sending.active = False

    models.Queue.attributes = property(attributes)
    models.SQSBackend.send_message = send_message
    models.Message.mark_received = mark_received
    models.Queue.add_message = add_message
    models.Queue.delete_message = delete_message
    models.Queue.messages = property(visible_messages)
    models.SQSBackend.change_message_visibility = change_message_visibility


def sample_stacks(path: str, interval: float = 0.1) -> None:
    """A poor man's sampling profiler (py-spy is not always at hand): every `interval` the innermost frames of
    every busy thread, counted by function and by call chain, rewritten to `path` every 10 s."""
    import sys
    import time
    import traceback

    functions: Counter[str] = Counter()
    chains: Counter[str] = Counter()

    def loop() -> None:
        me, last = threading.get_ident(), time.monotonic()
        while True:
            time.sleep(interval)
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                stack = traceback.extract_stack(frame)
                top = stack[-1]
                if top.name in ("wait", "select", "poll", "_wait_for_tstate_lock", "acquire", "readinto", "accept"):
                    continue  # an idle thread
                functions[f"{top.filename}:{top.lineno} {top.name}"] += 1
                chains[" < ".join(f"{f.name}" for f in reversed(stack[-12:]))] += 1
            if time.monotonic() - last > 10:
                last = time.monotonic()
                with open(path, "w") as out:
                    for name, count in functions.most_common(40):
                        out.write(f"{count:8d} {name}\n")
                    out.write("\n")
                    for name, count in chains.most_common(40):
                        out.write(f"{count:8d} {name}\n")

    threading.Thread(target=loop, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.moto_counting")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from waitress import serve

    logging.getLogger("waitress").setLevel(logging.ERROR)
    speed_up_moto_sqs()
    # moto lists its own package directory (a listdir and an isdir per service) on every request, under a lock
    # every request takes: the list does not change while it runs.
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    samples = os.environ.get("BENCH_MOTO_SAMPLES")
    if samples:
        sample_stacks(samples)
    app = Counting(DomainDispatcherApplication(create_backend_app))
    print(f"listening http://{args.host}:{args.port}", flush=True)
    # waitress keeps connections alive, as AWS endpoints do (moto's own werkzeug server closes each one).
    serve(app, host=args.host, port=args.port, threads=256, connection_limit=1000, channel_timeout=300, ident=None)


if __name__ == "__main__":
    main()
