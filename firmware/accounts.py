"""The box's user accounts: who may sign in to the web UI, and with which role.

Owns one small JSON file under the data dir (``accounts.json``), rewritten whole and
atomically on every change (temp file in the same directory, fsync, ``os.replace``, fsync of
the directory) with mode 0600. Passwords are stored only as scrypt hashes (random 16-byte
salt, n=2**14, r=8, p=1) and compared in constant time.

There is no default password: on first boot the file is absent and :attr:`Accounts.needs_setup`
is true until the installer chooses the admin password (the web setup wizard calls
:meth:`Accounts.set_initial_admin`).

Must not: log a password or a hash, or know anything of HTTP (sessions, cookies and sign-in
throttling belong to ``webui.auth``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROLES = ("admin", "supervisor", "viewer")
"""From most to least powerful. admin: everything; supervisor: read everything, drive the
simulator and (later) queues; viewer: read only."""

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
INITIAL_ADMIN = "admin"

PASSWORD_POLICY = (
    f"at least {MIN_PASSWORD_LENGTH} characters, mixing at least two kinds of characters "
    "(lower case, upper case, digits, symbols), and not the user name"
)

_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{0,31}$")

# scrypt parameters (n=2**14, r=8 needs 16 MiB: within hashlib's default 32 MiB maxmem).
_SCRYPT_N = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 1
_SALT_BYTES = 16
_KEY_BYTES = 32
_FORMAT_VERSION = 1


class AccountError(Exception):
    """A refused account operation; str() is a user-facing message (never holds a secret)."""


class AlreadySetUp(AccountError):
    """set_initial_admin() after the admin account exists."""


@dataclass(frozen=True)
class User:
    username: str
    role: str


def check_password_policy(username: str, password: str) -> None:
    """Raise AccountError naming the rule the password breaks."""
    if not isinstance(password, str):
        raise AccountError("the password must be text")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at most {MAX_PASSWORD_LENGTH} characters long")
    kinds = {
        "lower" if c.islower() else "upper" if c.isupper() else "digit" if c.isdigit()
        else "symbol"
        for c in password
    }
    if len(kinds) < 2:
        raise AccountError(
            "the password must mix at least two kinds of characters "
            "(lower case, upper case, digits, symbols)"
        )
    if password.casefold() == username.casefold():
        raise AccountError("the password must not be the user name")


def _hash(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_KEY_BYTES,
        maxmem=64 * 1024 * 1024,
    )


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _hash(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${key.hex()}"


def _verify_hash(password: str, stored: str) -> bool:
    try:
        alg, n, r, p, salt, key = stored.split("$")
        if alg != "scrypt":
            return False
        computed = _hash(password, bytes.fromhex(salt), int(n), int(r), int(p))
        return hmac.compare_digest(computed, bytes.fromhex(key))
    except ValueError:
        return False


# A hash of a random password: verify() of an unknown user costs as much as of a known one,
# so response times do not tell which user names exist.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


class Accounts:
    """The account file. Thread-safe: the web UI hashes in an executor thread."""

    def __init__(self, path: Path, users: dict[str, dict[str, str]]) -> None:
        self._path = path
        self._users = users
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Accounts:
        """Load the account file, or start with no account (first boot) if there is none."""
        path = Path(path)
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path, {})
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("version") != _FORMAT_VERSION:
            raise AccountError(f"{path}: not an edgepbx account file of version {_FORMAT_VERSION}")
        users = data.get("users", {})
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, 0o600)  # someone widened it: the hashes are for the box only
        return cls(path, {str(k): dict(v) for k, v in users.items()})

    # ---- queries

    @property
    def needs_setup(self) -> bool:
        """True while there is no admin account (first boot, or after a factory reset)."""
        with self._lock:
            return not any(u["role"] == "admin" for u in self._users.values())

    def get(self, username: str) -> User | None:
        with self._lock:
            entry = self._users.get(username)
            return User(username, entry["role"]) if entry else None

    def users(self) -> list[User]:
        with self._lock:
            return [User(name, e["role"]) for name, e in sorted(self._users.items())]

    def verify(self, username: str, password: str) -> User | None:
        """The user if the password is theirs, else None (same cost either way)."""
        with self._lock:
            entry = self._users.get(username)
        if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
            return None
        stored = entry["hash"] if entry else _DUMMY_HASH
        ok = _verify_hash(password, stored)
        if entry is None or not ok:
            return None
        return User(username, entry["role"])

    # ---- changes

    def set_initial_admin(self, password: str) -> None:
        """First boot: create the user "admin". Refused once an admin exists."""
        check_password_policy(INITIAL_ADMIN, password)
        hashed = hash_password(password)
        with self._lock:
            if any(u["role"] == "admin" for u in self._users.values()):
                raise AlreadySetUp("the admin account is already set up")
            users = dict(self._users)
            users[INITIAL_ADMIN] = {"role": "admin", "hash": hashed}
            self._save(users)

    def add_user(self, username: str, password: str, role: str) -> None:
        if not isinstance(username, str) or not _USERNAME.match(username):
            raise AccountError(
                "the user name must start with a lower-case letter and use only a-z, 0-9, "
                "'.', '_' and '-' (at most 32 characters)"
            )
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        check_password_policy(username, password)
        hashed = hash_password(password)
        with self._lock:
            if username in self._users:
                raise AccountError(f"the user {username!r} already exists")
            users = dict(self._users)
            users[username] = {"role": role, "hash": hashed}
            self._save(users)

    def change_password(self, username: str, old: str, new: str) -> None:
        if self.verify(username, old) is None:
            raise AccountError("the current password is wrong")
        check_password_policy(username, new)
        if new == old:
            raise AccountError("the new password must differ from the current one")
        hashed = hash_password(new)
        with self._lock:
            if username not in self._users:
                raise AccountError("the current password is wrong")
            users = dict(self._users)
            users[username] = {**users[username], "hash": hashed}
            self._save(users)

    # ---- storage

    def _save(self, users: dict[str, dict[str, str]]) -> None:
        """Write the file atomically; only then take the new state (caller holds the lock)."""
        data: dict[str, Any] = {"version": _FORMAT_VERSION, "users": users}
        payload = json.dumps(data, indent=2, sort_keys=True).encode("utf-8")
        directory = self._path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self._path.name}.", suffix=".tmp", dir=directory)
        try:
            os.fchmod(fd, 0o600)  # mkstemp creates 0600 already; say it anyway
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self._users = users
