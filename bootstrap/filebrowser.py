"""FileBrowser on port 8080: a fresh database each boot, one admin, the password never on argv.

``filebrowser users add NAME PASSWORD`` and ``filebrowser hash PASSWORD`` both take the
password as an argument, where any process can read it in ``/proc/PID/cmdline``.
Instead the bootstrap hashes the password with bcrypt itself (FileBrowser stores
bcrypt hashes) and imports the user from a 0600 JSON file that is overwritten and
removed right after. ``bcrypt`` is a bootstrap-only dependency of the image.

The database lives on tmpfs under the runtime directory and is rebuilt at each boot, so
a changed ``FB_PASSWORD`` takes effect and nothing of it outlives the pod. FileBrowser's
command runner stays off (``--disable-exec``; the user's ``execute`` permission is off
too): it is a shell on the pod for anyone who gets the password.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from comfyui_phoenix.errors import ConfigError, PhoenixError
from comfyui_phoenix.security.cleanup import overwrite_file, overwrite_tree
from comfyui_phoenix.settings import Settings

from .process import RunAs, run_command

#: bcrypt ignores (bcrypt ≥ 5 refuses) everything after the 72nd byte.
BCRYPT_MAX_BYTES = 72
#: FileBrowser's own minimum for passwords set in its UI.
MIN_PASSWORD_LENGTH = 12


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    generated: bool

    def __repr__(self) -> str:  # never show the password by accident
        return f"Credentials(username={self.username!r}, generated={self.generated})"


def choose_credentials(settings: Settings) -> Credentials:
    """``FB_USERNAME`` with ``FB_PASSWORD``, or a generated strong password.

    Raises:
        ConfigError: the user name is empty or the password is longer than bcrypt allows.
    """
    username = settings.fb_username.strip()
    if not username or any(c.isspace() or not c.isprintable() for c in username):
        raise ConfigError(
            "FB_USERNAME is invalid: it must be a non-empty name without spaces.",
            hint="Set FB_USERNAME to a valid value, for example admin.",
        )
    if settings.fb_password is None:
        return Credentials(username, secrets.token_urlsafe(18), generated=True)
    password = settings.fb_password.get_secret_value()
    if len(password.encode()) > BCRYPT_MAX_BYTES:
        raise ConfigError(
            f"FB_PASSWORD is invalid: it is longer than {BCRYPT_MAX_BYTES} bytes.",
            hint="Set FB_PASSWORD to a shorter password, or unset it to get a generated one.",
        )
    return Credentials(username, password, generated=False)


def bcrypt_hash(password: str) -> str:
    """The password's bcrypt hash, as FileBrowser stores it."""
    try:
        import bcrypt
    except ImportError:
        raise PhoenixError(
            "The bcrypt module is missing, so FileBrowser's password cannot be hashed.",
            hint="Rebuild the image: bcrypt is installed from bootstrap/requirements-image.txt.",
        ) from None
    hashed: bytes = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10))
    return hashed.decode("ascii")


def admin_user(username: str, password_hash: str) -> dict[str, Any]:
    """One FileBrowser user record (``users import`` format): admin, no command execution."""
    return {
        "username": username,
        "password": password_hash,
        "scope": ".",
        "locale": "en",
        "lockPassword": False,
        "viewMode": "list",
        "perm": {
            "admin": True,
            "execute": False,
            "create": True,
            "rename": True,
            "modify": True,
            "delete": True,
            "share": False,
            "download": True,
        },
        "commands": [],
        "rules": [],
        "hideDotfiles": True,
    }


def users_file_text(username: str, password_hash: str) -> str:
    return json.dumps([admin_user(username, password_hash)])


def _where(database: Path, root: Path, listen: str, port: int) -> list[str]:
    """The database, address, port and root: the same for setting up and for serving."""
    return [
        "--database",
        str(database),
        "--address",
        listen,
        "--port",
        str(port),
        "--root",
        str(root),
    ]


def config_init_argv(binary: Path, database: Path, root: Path, listen: str, port: int) -> list[str]:
    return [
        str(binary),
        "config",
        "init",
        *_where(database, root, listen, port),
        "--auth.method",
        "json",
        "--perm.execute=false",
    ]


def users_import_argv(binary: Path, database: Path, users_file: Path) -> list[str]:
    return [str(binary), "users", "import", str(users_file), "--database", str(database)]


def serve_argv(binary: Path, database: Path, root: Path, listen: str, port: int) -> list[str]:
    return [str(binary), *_where(database, root, listen, port), "--disable-exec"]


async def prepare(
    *,
    binary: Path,
    folder: Path,
    root: Path,
    listen: str,
    port: int,
    credentials: Credentials,
    run_as: RunAs,
    env: Mapping[str, str],
) -> Path:
    """Make FileBrowser's database anew in ``folder`` with one admin; returns its path.

    Raises:
        PhoenixError: FileBrowser is missing or one of its commands failed.
    """
    if not os.access(binary, os.X_OK):
        raise PhoenixError(
            f"FileBrowser is not installed at {binary}.",
            hint="Rebuild the image: the Dockerfile installs it at /usr/local/bin/filebrowser.",
        )
    await asyncio.to_thread(_fresh_folder, folder, run_as.owner)
    database = folder / "filebrowser.db"
    init = await run_command(
        config_init_argv(binary, database, root, listen, port), env=env, run_as=run_as, timeout=60
    )
    if not init.ok:
        raise PhoenixError(f"filebrowser config init failed: {init.tail()}")
    password_hash = await asyncio.to_thread(bcrypt_hash, credentials.password)
    users_file = folder / "users-import.json"
    _write_private(users_file, users_file_text(credentials.username, password_hash), run_as.owner)
    try:
        imported = await run_command(
            users_import_argv(binary, database, users_file), env=env, run_as=run_as, timeout=60
        )
    finally:
        overwrite_file(users_file)
        with contextlib.suppress(FileNotFoundError):
            users_file.unlink()
    if not imported.ok:
        raise PhoenixError(f"filebrowser users import failed: {imported.tail()}")
    return database


def _fresh_folder(folder: Path, owner: tuple[int, int] | None) -> None:
    """An empty 0700 folder for the database: the last boot's is removed first."""
    if folder.exists():
        overwrite_tree(folder)
        shutil.rmtree(folder)
    folder.mkdir(parents=True, mode=0o700)
    if owner:
        os.chown(folder, *owner)


def _write_private(path: Path, text: str, owner: tuple[int, int] | None) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    if owner:
        os.chown(path, *owner)
