"""cffi builder (API mode, out of line) for the native DSP/media core: native._native."""
from __future__ import annotations

import pathlib

from cffi import FFI

HERE = pathlib.Path(__file__).resolve().parent
CSRC = HERE.parent / "csrc"

ffibuilder = FFI()
ffibuilder.cdef("int edgepbx_native_abi(void);")
ffibuilder.set_source(
    "native._native",
    '#include "probe.h"',
    sources=[str(p.relative_to(HERE.parent.parent)) for p in sorted(CSRC.glob("*.c"))],
    include_dirs=[str(CSRC.relative_to(HERE.parent.parent))],
    extra_compile_args=["-std=c99", "-O2", "-Wall", "-Wextra"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
