#!/usr/bin/env bash
# Prepare a fresh Debian machine to run and test edgepbx from this source tree:
#   - Debian packages the build and the tests need (installed only if missing),
#   - a virtual environment in .venv with the firmware installed editable (this compiles
#     the native DSP/media core through cffi) and the development tools.
# Safe to run again: it only does what is missing. Used by image/dev/run-sim.sh and
# tests/run-all.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"

# Build: a C compiler and the headers cffi compiles against.
# Tests: chromium (browser tests through Playwright), espeak-ng and sox (synthesized speech
# for DTMF talk-off and echo-canceller tests), libspandsp-dev and libspeexdsp-dev (DSP peers
# the tests and benchmarks compare against; spandsp also ships the ITU-T G.168 echo-path
# models), clang with its runtime (libFuzzer runs of the C decoders), tshark (Wireshark's
# gsm_sms dissector: an independent decoder the SMS PDU codec is cross-checked against).
DEB_PACKAGES=(gcc libc6-dev libffi-dev python3-venv python3-dev
              chromium espeak-ng sox libspandsp-dev libspeexdsp-dev clang libclang-rt-14-dev
              tshark)

missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    echo "bootstrap: installing Debian packages: ${missing[*]}" >&2
    SUDO=""
    if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
    # wireshark-common asks whether non-root users may capture: answer no, without a prompt.
    echo "wireshark-common wireshark-common/install-setuid boolean false" \
        | $SUDO debconf-set-selections
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends "${missing[@]}"
fi

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    echo "bootstrap: edgepbx needs Python 3.11 or newer ($PYTHON is $("$PYTHON" -V 2>&1))" >&2
    exit 1
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "bootstrap: creating $VENV" >&2
    "$PYTHON" -m venv "$VENV"
fi

# Reinstall only when the package definition or the native sources changed.
STAMP="$VENV/.edgepbx-installed"
want="$(cat "$ROOT/pyproject.toml" "$ROOT"/native/_build/*.py "$ROOT"/native/_build/cdef/* "$ROOT"/native/csrc/* 2>/dev/null \
        | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$want" \
      || -z "$(ls "$ROOT"/native/_native*.so 2>/dev/null)" ]]; then
    echo "bootstrap: installing edgepbx and its tools into $VENV" >&2
    "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$VENV/bin/python" -m pip install -q -e "$ROOT[dev]"
    echo "$want" > "$STAMP"
fi
