"""cffi builder (API mode, out of line) for the native DSP/media core: native._native.

Each public header native/csrc/X.h has its cffi declarations in native/_build/cdef/X.cdef;
the build includes them in the order of ``ORDER`` (a module's types before the modules that
use them), then any further .cdef files alphabetically. In API mode the C compiler checks
every declaration against the real header, so a drift fails the build. Every call through
`lib` releases the GIL; no function here calls back into Python.
"""

from __future__ import annotations

import pathlib

from cffi import FFI

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CSRC = HERE.parent / "csrc"
CDEFS = HERE / "cdef"
ORDER = ['g711', 'tone', 'dtmf', 'cpt', 'amd', 'echo', 'callerid', 'media']


def _modules() -> list[str]:
    found = sorted(p.stem for p in CDEFS.glob("*.cdef"))
    return [m for m in ORDER if m in found] + [m for m in found if m not in ORDER]


MODULES = _modules()

ffibuilder = FFI()
ffibuilder.cdef("\n".join((CDEFS / f"{m}.cdef").read_text() for m in MODULES))
ffibuilder.set_source(
    "native._native",
    "\n".join(f'#include "{m}.h"' for m in MODULES),
    # paths relative to the project root, where setuptools runs the build
    sources=[str(p.relative_to(ROOT)) for p in sorted(CSRC.glob("*.c"))],
    include_dirs=[str(CSRC.relative_to(ROOT))],
    libraries=["m"],
    extra_compile_args=["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
