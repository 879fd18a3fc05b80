"""A tiny PostgreSQL front door that checks RDS-style master passwords.

Development servers often trust local connections, which would make ``ModifyDBInstance`` password changes
meaningless. Emulated PostgreSQL endpoints therefore point here: the proxy asks the client for its password
(cleartext, on loopback), compares it with the login's current password, then opens the real connection with
the same startup message and relays bytes both ways. TLS is declined ('N'), as a local server would.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Callable

SSL_REQUEST = 80877103
GSS_REQUEST = 80877104
CANCEL_REQUEST = 80877102


async def _read_startup(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    header = await reader.readexactly(8)
    length, code = struct.unpack("!ii", header)
    body = await reader.readexactly(length - 8)
    return code, header + body


def _params(packet: bytes) -> dict[str, str]:
    items = packet[8:].split(b"\x00")
    return {items[i].decode(): items[i + 1].decode() for i in range(0, len(items) - 1, 2) if items[i]}


def _error(sqlstate: str, message: str) -> bytes:
    fields = b"SFATAL\x00VFATAL\x00C" + sqlstate.encode() + b"\x00M" + message.encode() + b"\x00\x00"
    return b"E" + struct.pack("!i", len(fields) + 4) + fields


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(Exception):
        writer.close()


class PgAuthProxy:
    def __init__(self, upstream_host: str, upstream_port: int, password_of: Callable[[str], str | None]) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.password_of = password_of
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, struct.error, UnicodeDecodeError):
            pass
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        code, packet = await _read_startup(reader)
        while code in (SSL_REQUEST, GSS_REQUEST):
            writer.write(b"N")
            await writer.drain()
            code, packet = await _read_startup(reader)
        if code == CANCEL_REQUEST:
            await self._forward_cancel(packet)
            return
        user = _params(packet).get("user", "")
        if not await self._authenticate(reader, writer, user):
            return
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        up_writer.write(packet)
        await up_writer.drain()
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def _authenticate(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, user: str) -> bool:
        writer.write(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
        await writer.drain()
        kind = await reader.readexactly(1)
        (length,) = struct.unpack("!i", await reader.readexactly(4))
        password = (await reader.readexactly(length - 4)).rstrip(b"\x00").decode()
        expected = self.password_of(user)
        if kind == b"p" and expected is not None and password == expected:
            return True
        writer.write(_error("28P01", f'password authentication failed for user "{user}"'))
        await writer.drain()
        return False

    async def _forward_cancel(self, packet: bytes) -> None:
        _, up_writer = await asyncio.open_connection(*self.upstream)
        up_writer.write(packet)
        await up_writer.drain()
        up_writer.close()
