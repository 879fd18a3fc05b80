"""Run moto's server (a development dependency) on 127.0.0.1 with a free port, for tests and the demo."""

from __future__ import annotations

import functools
import threading
from typing import Any

# DynamoDB applies a conditional write atomically: the condition and the write see the same item. moto's threaded
# server evaluates the condition and writes in separate steps, so two concurrent conditional writes can both pass
# (seen: five of twelve compare-and-set takers winning four slots of three). One lock around moto's DynamoDB
# writes restores AWS's behaviour; reads stay concurrent.
_DYNAMODB_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
_dynamodb_lock = threading.RLock()


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


def _serialize_dynamodb_writes() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name in _DYNAMODB_WRITES:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "serialized", False):
            continue

        @functools.wraps(original)
        def serialized(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with _dynamodb_lock:
                return _original(self, *args, **kwargs)

        serialized.serialized = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, serialized)


def start_moto(host: str = "127.0.0.1", port: int = 0) -> MotoHandle:
    import logging

    from moto.server import ThreadedMotoServer

    _serialize_dynamodb_writes()

    # werkzeug logs every request at INFO; keep test and demo output readable.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    return MotoHandle(server, f"http://{bound_host}:{bound_port}")
