"""The `edgepbx` command as a person runs it: real processes, real signals, real sockets."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest

CMD = [sys.executable, "-m", "firmware.cli"]


def edgepbx(*args: str, stdin: str | None = None,
            timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([*CMD, *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout)


def assert_one_line_error(proc: subprocess.CompletedProcess, status: int, *needles: str) -> None:
    assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("edgepbx: error:")]
    assert len(errors) == 1, proc.stderr
    for n in needles:
        assert n in errors[0], errors[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Api:
    """A tiny stdlib HTTP client with a cookie jar (what curl -c/-b does)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.csrf = ""

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self.csrf:
            req.add_header("X-CSRF-Token", self.csrf)
        try:
            with self.opener.open(req, timeout=5) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


def wait_until(fn: Any, timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = fn()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def start_box(data_dir: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen([*CMD, "run", "--sim", "--data-dir", str(data_dir),
                             "--http", f"127.0.0.1:{port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_version() -> None:
    proc = edgepbx("version")
    assert proc.returncode == 0 and proc.stdout.strip()


def test_run_without_a_board_names_the_problem(tmp_path: Path) -> None:
    proc = edgepbx("run", "--data-dir", str(tmp_path / "d"), "--http", f"127.0.0.1:{free_port()}")
    assert_one_line_error(proc, 1, "no board file", "--sim")


def test_bad_http_address_is_a_usage_error(tmp_path: Path) -> None:
    proc = edgepbx("run", "--sim", "--data-dir", str(tmp_path), "--http", "localhost:99999")
    assert proc.returncode == 2 and "65535" in proc.stderr and "Traceback" not in proc.stderr


def test_unwritable_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = edgepbx("run", "--sim", "--data-dir", str(blocker / "sub"))
    assert_one_line_error(proc, 1, "data directory", str(blocker / "sub"))


def test_occupied_http_port(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = edgepbx("run", "--sim", "--data-dir", str(tmp_path / "d"),
                       "--http", f"127.0.0.1:{port}")
    assert_one_line_error(proc, 1, f"127.0.0.1:{port}", "already in use")


def test_config_validate(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"schema": 1,,}')
    assert_one_line_error(edgepbx("config", "validate", str(bad_json)), 2, "not JSON", "line 1")

    assert_one_line_error(edgepbx("config", "validate", str(tmp_path / "none.json")), 2,
                          "no such file")

    from drivers.board import known_port_ids
    from drivers.board.sim import SimBoard
    from firmware.config import default_document

    doc = default_document(known_port_ids(SimBoard.layout()))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(doc))
    proc = edgepbx("config", "validate", str(good))
    assert proc.returncode == 0 and json.loads(proc.stdout) == {"valid": True}

    doc["extensions"][1]["port"] = "fxs9"
    doc["routes"][0]["destination"]["target"] = "999"
    bad = tmp_path / "bad-ports.json"
    bad.write_text(json.dumps(doc))
    proc = edgepbx("config", "validate", str(bad))
    assert_one_line_error(proc, 2, "extensions[1].port", "fxs9", "routes[0].destination")


@pytest.mark.slow
def test_run_serve_call_sigterm_export_import(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    box = start_box(data, port)
    try:
        api = Api(f"http://127.0.0.1:{port}")
        wait_until(lambda: api.call("GET", "/api/v1/health")[0] == 200, 20, "the web UI")
        assert api.call("GET", "/api/v1/ports")[0] == 401          # sign-in first
        status, body = api.call("POST", "/api/v1/auth/setup", {"password": "Sturdy-Pass-42"})
        assert status == 200, body
        api.csrf = body["csrf_token"]

        # A second box on the same data directory is refused, naming the running one.
        second = edgepbx("run", "--sim", "--data-dir", str(data), "--http",
                         f"127.0.0.1:{free_port()}")
        assert_one_line_error(second, 1, "already running", str(box.pid))
        # So is an import behind the running box's back.
        assert_one_line_error(edgepbx("config", "import", "-", "--data-dir", str(data),
                                      stdin="{}"), 2, "running")

        # A call in progress when SIGTERM arrives is released cleanly and recorded.
        assert api.call("POST", "/api/v1/sim/trunks/gsm2/call", {"caller": "+74951112233"})[0] \
            == 200
        wait_until(lambda: api.call("GET", "/api/v1/sim/state")[1]["phones"]["fxs1"]
                   ["ring_bursts"] >= 1, 10, "the phone to ring")
        assert api.call("POST", "/api/v1/sim/phones/fxs1/offhook")[0] == 200
        wait_until(lambda: [c for c in api.call("GET", "/api/v1/calls")[1]["calls"]
                            if c["state"] == "active"], 10, "the call to be active")
        box.send_signal(signal.SIGTERM)
        out, err = box.communicate(timeout=20)
    finally:
        if box.poll() is None:
            box.kill()
            box.communicate()
    assert box.returncode == 0, err
    assert "Traceback" not in err
    logs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert logs and all({"ts", "level", "logger", "msg"} <= set(e) for e in logs)
    assert any(e["msg"] == "box stopped" for e in logs)
    assert not (data / "edgepbx.pid").exists()

    db = sqlite3.connect(data / "events.sqlite")
    rows = db.execute("SELECT caller, trunk, extension, disposition, answer_ts, end_ts "
                      "FROM cdr").fetchall()
    db.close()
    assert len(rows) == 1
    caller, trunk, ext, disposition, answer_ts, end_ts = rows[0]
    assert (caller, trunk, ext, disposition) == ("+74951112233", "gsm2", "201", "answered")
    assert end_ts >= answer_ts

    # export → edit → import makes a new revision; the box starts with it.
    proc = edgepbx("config", "export", "-", "--data-dir", str(data))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    doc["system"]["name"] = "front-office"
    proc = edgepbx("config", "import", "-", "--data-dir", str(data), stdin=json.dumps(doc))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["revision"] == 2
    doc["extensions"][0]["port"] = "gsm1"      # an extension on a trunk port: refused whole
    proc = edgepbx("config", "import", "-", "--data-dir", str(data), stdin=json.dumps(doc))
    assert_one_line_error(proc, 2, "extensions[0].port")
    proc = edgepbx("config", "export", "-", "--data-dir", str(data))
    assert json.loads(proc.stdout)["system"]["name"] == "front-office"


def test_sigint_on_idle_box(tmp_path: Path) -> None:
    port = free_port()
    box = start_box(tmp_path / "d", port)
    try:
        wait_until(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health",
                                                  timeout=2).status == 200, 20, "health")
        box.send_signal(signal.SIGINT)
        _, err = box.communicate(timeout=20)
    finally:
        if box.poll() is None:
            box.kill()
            box.communicate()
    assert box.returncode == 0 and "Traceback" not in err
    assert os.path.exists(tmp_path / "d" / "config.json")
