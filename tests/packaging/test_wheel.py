"""The wheel is what goes on the box: it carries the compiled native core and no C sources.

Builds the wheel from this tree exactly as the image build does (`pip wheel`, build
isolation on, so the in-tree backend and cffi_modules are exercised) and checks its
contents, then imports the extension from an installation of that wheel alone.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_contents_and_import(tmp_path: Path) -> None:
    out = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, timeout=600)
    (wheel,) = out.glob("edgepbx-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("native/_native") and n.endswith(".so") for n in names)
    assert not [n for n in names if n.endswith((".c", ".h", ".cdef"))], "C sources leaked"
    assert not [n for n in names if n.startswith(("tests/", "native/_build"))]
    assert "webui/static/app.js" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "edgepbx = firmware.cli:main" in text and "webui.server:frontend" in text

    # Installed alone (no source tree on the path), the extension loads: nothing compiles.
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(target)
    code = (f"import sys; sys.path.insert(0, {str(target)!r}); import native.media as m; "
            f"assert m.__file__.startswith({str(target)!r}), m.__file__; "
            "e = m.MediaEngine(2); print(len(e.tick(bytes(320))))")
    proc = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "320"
