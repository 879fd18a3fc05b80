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


_DYNAMODB_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


def _serialize_dynamodb_writes() -> None:
    """DynamoDB applies a conditional write (and a transaction) atomically; moto's threaded server checks the
    condition and writes in two steps, so two threads can both pass one condition. One lock around the writes
    makes the stand-in as strict as AWS. Idempotent."""
    import functools
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_bv_serialized", False):
        return
    lock = threading.RLock()
    for name in _DYNAMODB_WRITES:
        original = getattr(DynamoDBBackend, name)

        def locked(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return __original(*args, **kwargs)

        setattr(DynamoDBBackend, name, functools.wraps(original)(locked))
    DynamoDBBackend._bv_serialized = True  # type: ignore[attr-defined]


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
