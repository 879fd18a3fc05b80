"""Connecting to the restored database: failures are DatabaseUnavailable and never show the password."""

import asyncio
import socket
import ssl
import struct
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from conftest_checks import ENGINES, SERVERS, scratch_database, scratch_user

from worker.adapters.database import DatabaseUnavailable, UnsupportedEngine, open_database, tls_context
from worker.checks import CheckContext, run_checks
from worker.policy import SqlCheck

PASSWORD = "Pa55-word-that-must-not-leak"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_safe(error: DatabaseUnavailable, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in str(error)
    # raised `from None`: a traceback in the logs does not carry the driver's own message along
    assert error.__cause__ is None and error.__suppress_context__


async def connect(engine: str, **overrides):
    args = {**SERVERS[engine], "database": "postgres" if engine == "postgres" else "mysql", **overrides}
    async with open_database(engine, tls=False, statement_timeout=5, connect_timeout=2, **args):
        pass


@pytest.mark.parametrize("engine", ENGINES)
async def test_an_unreachable_port_is_database_unavailable_naming_host_and_port(engine):
    port = free_port()
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable) as caught:
        await connect(engine, port=port, password=PASSWORD)
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert_safe(caught.value, PASSWORD)
    assert time.monotonic() - started < 3


async def test_a_wrong_mariadb_password_is_database_unavailable_without_the_password():
    async with scratch_database("mariadb") as scratch, scratch_user("mariadb", scratch.name, PASSWORD) as user:
        with pytest.raises(DatabaseUnavailable) as caught:
            await connect("mariadb", user=user, password="Wrong-" + PASSWORD, database=scratch.name)
        assert "Access denied" in str(caught.value)
        assert_safe(caught.value, PASSWORD, "Wrong-" + PASSWORD)
        # and the right one works, with the user's own (read-only) grant
        args = {**SERVERS["mariadb"], "user": user, "password": PASSWORD, "database": scratch.name}
        async with open_database("mariadb", tls=False, statement_timeout=5, **args) as db:
            (result,) = await run_checks(
                db, [SqlCheck(name="one", query="SELECT 1", expect=1)], CheckContext(None, datetime.now(UTC))
            )
        assert result.passed


@pytest.fixture
async def postgres_that_echoes_passwords() -> AsyncIterator[int]:
    """A PostgreSQL look-alike that asks for a clear-text password and rejects it, quoting it back: the worst
    case for leaks. (The real server here trusts every local login, so it cannot reject a password.)"""

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:  # the startup message, after any TLS/GSS encryption requests (answered "no")
            (length,) = struct.unpack("!i", await reader.readexactly(4))
            body = await reader.readexactly(length - 4)
            if struct.unpack("!i", body[:4])[0] not in (80877103, 80877104):
                break
            writer.write(b"N")
        writer.write(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
        _kind, length = struct.unpack("!ci", await reader.readexactly(5))
        password = (await reader.readexactly(length - 4)).rstrip(b"\0")
        fields = [b"SFATAL", b"VFATAL", b"C28P01", b'Mpassword authentication failed for user "bv": ' + password]
        payload = b"".join(field + b"\0" for field in fields) + b"\0"
        writer.write(b"E" + struct.pack("!i", len(payload) + 4) + payload)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(session, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def test_a_rejected_postgres_password_is_database_unavailable_without_the_password(
    postgres_that_echoes_passwords,
):
    with pytest.raises(DatabaseUnavailable) as caught:
        await connect("postgres", port=postgres_that_echoes_passwords, user="bv", password=PASSWORD)
    message = str(caught.value)
    assert "InvalidPasswordError" in message and "password authentication failed" in message
    assert f"127.0.0.1:{postgres_that_echoes_passwords}" in message
    assert "***" in message
    assert_safe(caught.value, PASSWORD)


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_missing_database_is_database_unavailable(engine):
    with pytest.raises(DatabaseUnavailable, match="bvt_does_not_exist"):
        await connect(engine, database="bvt_does_not_exist")


@pytest.mark.parametrize("engine", ENGINES)
async def test_required_tls_is_never_skipped_when_the_server_has_none(engine):
    # Neither local server offers TLS: with tls=True the connection must fail, not quietly go unencrypted.
    args = {**SERVERS[engine], "database": "postgres" if engine == "postgres" else "mysql"}
    with pytest.raises(DatabaseUnavailable, match=r"SSL|TLS"):
        async with open_database(engine, tls=True, statement_timeout=5, connect_timeout=2, **args):
            pass


async def test_an_engine_without_a_driver_is_unsupported():
    with pytest.raises(UnsupportedEngine, match="sqlserver-ex"):
        async with open_database(
            "sqlserver-ex", "127.0.0.1", 1433, "admin", PASSWORD, "app", tls=True, statement_timeout=5
        ):
            pass


@pytest.mark.parametrize("engine", ["aurora-postgresql", "aurora-mysql", "mysql"])
async def test_rds_engine_names_pick_the_right_driver(engine):
    family = "postgres" if "postgres" in engine else "mariadb"
    database = "postgres" if family == "postgres" else "mysql"
    async with open_database(engine, **SERVERS[family], database=database, tls=False, statement_timeout=5) as db:
        assert db.engine == ("postgres" if family == "postgres" else "mysql")
        assert await db.scalar("SELECT 41 + 1") == 42


def test_tls_without_a_ca_bundle_encrypts_without_verifying():
    context = tls_context(None)
    assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_tls_with_a_ca_bundle_verifies_the_certificate_and_host_name(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    context = tls_context(str(bundle))
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [ca["subject"] for ca in context.get_ca_certs()] == [((("commonName", "test CA"),),)]
