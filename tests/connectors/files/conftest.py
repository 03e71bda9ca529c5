"""Files fixtures: the factory world, a secret key, and a real asyncssh SFTP server on
loopback (password and public-key logins, chrooted to a temporary folder), run in its own
thread and event loop like a remote host."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from channelhub.core.database import Database
from channelhub.core.settings import get_settings
from tests.factories import mug, save
from tests.inventory.factories import make_world

SFTP_USER = "erp"
SFTP_PASSWORD = "erp-password-123"


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CHANNELHUB_SECRET_KEY", "test-secret-key")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def world(db: Database) -> Database:
    make_world(db)
    save(db, mug("MUG-1"), mug("MUG-2"), mug("MUG-3"))
    return db


@dataclass
class SftpServer:
    port: int
    root: Path
    client_key: str  # the private key (OpenSSH) a client may log in with
    host_key: str  # the server's public key line


class _Login(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == SFTP_USER and password == SFTP_PASSWORD


@pytest.fixture(scope="session")
def sftp_keys() -> tuple[asyncssh.SSHKey, asyncssh.SSHKey]:
    return asyncssh.generate_private_key("ssh-ed25519"), asyncssh.generate_private_key(
        "ssh-ed25519"
    )


@pytest.fixture
def sftp_server(tmp_path: Path, sftp_keys: Any) -> Iterator[SftpServer]:
    host_key, client_key = sftp_keys
    root = tmp_path / "sftp"
    root.mkdir()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, Any] = {}

    def chrooted(chan: asyncssh.SSHServerChannel) -> asyncssh.SFTPServer:
        return asyncssh.SFTPServer(chan, chroot=str(root).encode())

    async def start() -> None:
        authorized = asyncssh.import_authorized_keys(client_key.export_public_key().decode() + "\n")
        box["server"] = await asyncssh.listen(
            "127.0.0.1",
            0,
            server_host_keys=[host_key],
            server_factory=_Login,
            authorized_client_keys=authorized,
            sftp_factory=chrooted,
            allow_scp=False,
        )
        ready.set()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    server = box["server"]
    port = server.sockets[0].getsockname()[1]
    yield SftpServer(
        port,
        root,
        client_key.export_private_key().decode(),
        host_key.export_public_key().decode().strip(),
    )

    async def stop() -> None:
        server.close()
        await server.wait_closed()

    asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
