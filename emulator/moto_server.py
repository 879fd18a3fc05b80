"""Run moto's server (a development dependency) on 127.0.0.1 with a free port, for tests and the demo."""

from __future__ import annotations

from typing import Any


class MotoHandle:
    def __init__(self, server: Any, url: str) -> None:
        self._server = server
        self.url = url

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        """Forget every resource moto holds (its /moto-api/reset endpoint)."""
        import urllib.request

        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")  # noqa: S310
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310


def _serialize_dynamodb() -> None:
    """Run every DynamoDB request alone, reads included: DynamoDB applies a conditional write and a transaction
    atomically and isolates them from other writes and from GetItem (serializable), and no read sees a write in
    part. moto's threaded server does neither: a condition is checked and the write made in two steps, and
    TransactWriteItems applies its items to the live table one by one, then, when one fails, puts back a deep
    copy of the table taken at the start. So two threads can both pass one condition, a write made meanwhile
    can be lost, and a read can see an update of a transaction that is then cancelled. One lock around the
    whole request (the backend call and the response it builds from the items) makes the stand-in as strict as
    AWS. Idempotent."""
    import functools
    import threading

    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler, "_bv_serialized", False):
        return
    lock = threading.RLock()
    original = DynamoHandler.call_action

    def serialized(self: Any) -> Any:
        with lock:
            return original(self)

    DynamoHandler.call_action = functools.wraps(original)(serialized)  # type: ignore[method-assign]
    DynamoHandler._bv_serialized = True  # type: ignore[attr-defined]


def start_moto(host: str = "127.0.0.1", port: int = 0) -> MotoHandle:
    import logging

    from moto.server import ThreadedMotoServer

    _serialize_dynamodb()

    # werkzeug logs every request at INFO; keep test and demo output readable.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    return MotoHandle(server, f"http://{bound_host}:{bound_port}")
