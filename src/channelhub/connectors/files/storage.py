"""Where exchange files live: a local folder, or a folder on an SFTP server (asyncssh, key or
password auth). Files are written under a temporary name and renamed, so that a reader on the
other side never sees half a file."""

from __future__ import annotations

import asyncio
import os
import posixpath
import uuid
from pathlib import Path
from types import TracebackType
from typing import Protocol

import asyncssh

from channelhub.connectors.base import PermanentError, TransientError

TEMP_PREFIX = ".tmp-"


class Storage(Protocol):
    async def list(self, folder: str) -> list[str]: ...
    async def read(self, folder: str, name: str) -> bytes: ...
    async def write(self, folder: str, name: str, data: bytes) -> None: ...
    async def move(
        self, folder: str, name: str, target: str, new_name: str | None = None
    ) -> None: ...
    async def close(self) -> None: ...


class LocalStorage:
    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def _folder(self, folder: str) -> Path:
        path = self.root / folder
        path.mkdir(parents=True, exist_ok=True)
        return path

    async def list(self, folder: str) -> list[str]:
        def names() -> list[str]:
            return sorted(
                p.name
                for p in self._folder(folder).iterdir()
                if p.is_file() and not p.name.startswith(".")
            )

        return await asyncio.to_thread(names)

    async def read(self, folder: str, name: str) -> bytes:
        return await asyncio.to_thread((self._folder(folder) / name).read_bytes)

    async def write(self, folder: str, name: str, data: bytes) -> None:
        def write() -> None:
            target = self._folder(folder)
            temp = target / f"{TEMP_PREFIX}{uuid.uuid4().hex}-{name}"
            with temp.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            temp.replace(target / name)  # atomic on one file system

        await asyncio.to_thread(write)

    async def move(self, folder: str, name: str, target: str, new_name: str | None = None) -> None:
        def move() -> None:
            (self._folder(folder) / name).replace(self._folder(target) / (new_name or name))

        await asyncio.to_thread(move)

    async def close(self) -> None:
        return None


class SftpStorage:
    """A folder on an SFTP server. Connects on first use; ``close`` ends the session."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        root: str,
        password: str | None = None,
        private_key: str | None = None,
        host_key: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.host, self.port, self.username, self.root = host, port, username, root
        self.password, self.private_key, self.host_key = password, private_key, host_key
        self.timeout = timeout
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self._made: set[str] = set()

    async def _client(self) -> asyncssh.SFTPClient:
        if self._sftp is not None:
            return self._sftp
        keys = [asyncssh.import_private_key(self.private_key)] if self.private_key else None
        known = asyncssh.import_known_hosts(self.host_key_line()) if self.host_key else None
        try:
            self._conn = await asyncio.wait_for(
                asyncssh.connect(
                    self.host,
                    self.port,
                    username=self.username,
                    password=self.password,
                    client_keys=keys,
                    known_hosts=known,
                    agent_path=None,
                ),
                self.timeout,
            )
            self._sftp = await self._conn.start_sftp_client()
        except asyncssh.PermissionDenied as error:
            raise PermanentError(f"sftp {self.host}: login refused: {error}") from None
        except (OSError, asyncssh.Error, TimeoutError) as error:
            raise TransientError(f"sftp {self.host}:{self.port}: {error}") from None
        return self._sftp

    def host_key_line(self) -> str:
        key = self.host_key or ""
        host = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
        return key if key.startswith(("[", self.host)) else f"{host} {key}"

    def _path(self, folder: str, name: str = "") -> str:
        return (
            posixpath.join(self.root, folder, name) if name else posixpath.join(self.root, folder)
        )

    async def _folder(self, folder: str) -> asyncssh.SFTPClient:
        sftp = await self._client()
        if folder not in self._made:
            await sftp.makedirs(self._path(folder), exist_ok=True)
            self._made.add(folder)
        return sftp

    async def list(self, folder: str) -> list[str]:
        sftp = await self._folder(folder)
        found = []
        for entry in await sftp.readdir(self._path(folder)):
            name = str(entry.filename)
            if name.startswith(".") or entry.attrs.type != asyncssh.FILEXFER_TYPE_REGULAR:
                continue
            found.append(name)
        return sorted(found)

    async def read(self, folder: str, name: str) -> bytes:
        sftp = await self._folder(folder)
        async with sftp.open(self._path(folder, name), "rb") as handle:
            data: bytes = await handle.read()
        return data

    async def write(self, folder: str, name: str, data: bytes) -> None:
        sftp = await self._folder(folder)
        temp = self._path(folder, f"{TEMP_PREFIX}{uuid.uuid4().hex}-{name}")
        async with sftp.open(temp, "wb") as handle:
            await handle.write(data)
        await self._rename(sftp, temp, self._path(folder, name))

    async def _rename(self, sftp: asyncssh.SFTPClient, source: str, target: str) -> None:
        try:
            await sftp.posix_rename(source, target)  # replaces atomically (OpenSSH extension)
        except asyncssh.SFTPOpUnsupported:
            await sftp.rename(source, target)

    async def move(self, folder: str, name: str, target: str, new_name: str | None = None) -> None:
        sftp = await self._folder(folder)
        await self._folder(target)
        await self._rename(sftp, self._path(folder, name), self._path(target, new_name or name))

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            await self._conn.wait_closed()
        self._conn = self._sftp = None

    async def __aenter__(self) -> SftpStorage:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
