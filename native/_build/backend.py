"""In-tree PEP 517 backend: setuptools.build_meta plus cffi's `cffi_modules`.

setuptools reads `cffi_modules` only as a keyword of setup(). We keep the top level free of
a setup.py, so this backend runs setup() itself with that one keyword; everything else
comes from pyproject.toml. The extension is compiled here, at build time, and shipped in
the wheel: nothing compiles on the box at run time.
"""

from __future__ import annotations

from setuptools import build_meta as _orig

CFFI_MODULES = ["native/_build/build_ffi.py:ffibuilder"]


class _CffiBuildMeta(_orig._BuildMetaBackend):  # type: ignore[name-defined,misc]
    def run_setup(self, setup_script: str = "setup.py") -> None:
        import setuptools

        setuptools.setup(cffi_modules=CFFI_MODULES)


_backend = _CffiBuildMeta()

get_requires_for_build_wheel = _backend.get_requires_for_build_wheel
get_requires_for_build_sdist = _backend.get_requires_for_build_sdist
prepare_metadata_for_build_wheel = _backend.prepare_metadata_for_build_wheel
build_wheel = _backend.build_wheel
build_sdist = _backend.build_sdist
get_requires_for_build_editable = _backend.get_requires_for_build_editable
prepare_metadata_for_build_editable = _backend.prepare_metadata_for_build_editable
build_editable = _backend.build_editable
