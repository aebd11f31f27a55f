"""firmware.accounts: hashing, storage (atomic, 0600, no plaintext), password policy."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from firmware import accounts as accounts_mod
from firmware.accounts import AccountError, Accounts, AlreadySetUp, User

GOOD = "Tr0ubadour-x"


def test_first_boot_needs_setup_and_no_default_password(tmp_path: Path) -> None:
    acc = Accounts.open(tmp_path / "accounts.json")
    assert acc.needs_setup
    assert acc.users() == []
    for guess in ("admin", "password", "", "1234"):
        assert acc.verify("admin", guess) is None
    assert not (tmp_path / "accounts.json").exists()


def test_initial_admin_once(tmp_path: Path) -> None:
    acc = Accounts.open(tmp_path / "accounts.json")
    acc.set_initial_admin(GOOD)
    assert not acc.needs_setup
    assert acc.verify("admin", GOOD) == User("admin", "admin")
    assert acc.verify("admin", GOOD + "x") is None
    assert acc.verify("nobody", GOOD) is None
    with pytest.raises(AlreadySetUp):
        acc.set_initial_admin("An0ther-password")
    assert acc.verify("admin", GOOD) is not None


def test_persisted_hashed_mode_0600_no_plaintext(tmp_path: Path) -> None:
    path = tmp_path / "data" / "accounts.json"
    acc = Accounts.open(path)
    acc.set_initial_admin(GOOD)
    acc.add_user("vic", "Viewer-pass-1", "viewer")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    raw = path.read_text()
    assert GOOD not in raw and "Viewer-pass-1" not in raw
    data = json.loads(raw)
    stored = data["users"]["admin"]["hash"]
    alg, n, r, p, salt, key = stored.split("$")
    assert (alg, n, r, p) == ("scrypt", str(2**14), "8", "1")
    assert len(bytes.fromhex(salt)) == 16
    # a fresh salt per hash: the same password never gives the same string
    assert accounts_mod.hash_password(GOOD) != accounts_mod.hash_password(GOOD)
    # and reopened from disk
    again = Accounts.open(path)
    assert again.verify("vic", "Viewer-pass-1") == User("vic", "viewer")
    assert not again.needs_setup
    # no temp file left behind
    assert sorted(p.name for p in path.parent.iterdir()) == ["accounts.json"]


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "accounts.json"
    acc = Accounts.open(path)
    acc.set_initial_admin(GOOD)
    before = path.read_bytes()
    replaced: list[tuple[str, str]] = []
    real_replace = os.replace

    def failing_replace(src: str, dst: str) -> None:
        replaced.append((str(src), str(dst)))
        raise OSError("disk pulled")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        acc.add_user("sue", "Superv-pass-2", "supervisor")
    monkeypatch.setattr(os, "replace", real_replace)
    # the file is untouched, the temp file is gone, and memory did not take the change
    assert path.read_bytes() == before
    assert replaced and replaced[0][1] == str(path) and replaced[0][0] != str(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accounts.json"]
    assert acc.get("sue") is None


def test_widened_file_mode_is_narrowed_on_open(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    Accounts.open(path).set_initial_admin(GOOD)
    os.chmod(path, 0o644)
    Accounts.open(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize(("password", "rule"), [
    ("Sh0rt-pw", "at least 10 characters"),
    ("abcdefghijkl", "two kinds of characters"),
    ("123456789012", "two kinds of characters"),
    ("ABCDEFGHIJKL", "two kinds of characters"),
])
def test_password_policy_names_the_rule(tmp_path: Path, password: str, rule: str) -> None:
    acc = Accounts.open(tmp_path / "accounts.json")
    with pytest.raises(AccountError, match=rule):
        acc.set_initial_admin(password)
    assert acc.needs_setup


def test_password_must_not_be_user_name(tmp_path: Path) -> None:
    acc = Accounts.open(tmp_path / "accounts.json")
    acc.set_initial_admin(GOOD)
    with pytest.raises(AccountError, match="user name"):
        acc.add_user("operator.1", "Operator.1", "viewer")


def test_change_password(tmp_path: Path) -> None:
    acc = Accounts.open(tmp_path / "accounts.json")
    acc.set_initial_admin(GOOD)
    with pytest.raises(AccountError, match="current password is wrong"):
        acc.change_password("admin", "wrong-Password1", "N3w-password!")
    with pytest.raises(AccountError, match="at least 10"):
        acc.change_password("admin", GOOD, "short")
    acc.change_password("admin", GOOD, "N3w-password!")
    assert acc.verify("admin", GOOD) is None
    assert acc.verify("admin", "N3w-password!") is not None


def test_add_user_checks(tmp_path: Path) -> None:
    acc = Accounts.open(tmp_path / "accounts.json")
    with pytest.raises(AccountError, match="unknown role"):
        acc.add_user("bob", "Bob-password-1", "root")
    with pytest.raises(AccountError, match="user name"):
        acc.add_user("Bob Smith", "Bob-password-1", "viewer")
    acc.add_user("bob", "Bob-password-1", "viewer")
    assert acc.needs_setup  # a viewer is not an admin
    with pytest.raises(AccountError, match="already exists"):
        acc.add_user("bob", "Bob-password-2", "viewer")


def test_no_password_in_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    acc = Accounts.open(tmp_path / "accounts.json")
    acc.set_initial_admin(GOOD)
    acc.verify("admin", "Wrong-guess-1")
    assert GOOD not in caplog.text and "Wrong-guess-1" not in caplog.text
