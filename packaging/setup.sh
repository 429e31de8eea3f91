#!/usr/bin/env bash
# Set up OmniOpt Desktop in ./.venv on a fresh Debian/Ubuntu machine.
#   bash packaging/setup.sh          the app (GUI libraries + Python packages)
#   bash packaging/setup.sh --test   also what the test suite needs (sshd, SLURM, munge,
#                                    PostgreSQL, Xvfb) and the test tools
# Debian packages are installed with apt-get when we are root (or have sudo); otherwise the
# missing ones are listed. Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-app}"
app_debs=(libxcb-cursor0 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3 libglib2.0-0
          libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-randr0
          libxcb-xkb1 libxcb-xinerama0)
test_debs=(openssh-server openssh-client postgresql slurm-wlm munge xvfb python3-venv procps util-linux imagemagick tcsh
           desktop-file-utils xdotool)
debs=("${app_debs[@]}")
[ "$mode" = "--test" ] && debs+=("${test_debs[@]}")

missing=()
for d in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "install ok installed" || missing+=("$d")
done
if [ "${#missing[@]}" -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1; then
        sudo=""
        [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo"
        if [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; then
            echo "setup: installing Debian packages: ${missing[*]}"
            $sudo apt-get update -qq
            DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
            # Debian starts these services on install; the tests start their own instances.
            for s in slurmctld slurmd munge postgresql ssh; do
                $sudo systemctl stop "$s" >/dev/null 2>&1 || $sudo service "$s" stop >/dev/null 2>&1 || true
            done
        else
            echo "setup: please install these Debian packages first: ${missing[*]}" >&2
            exit 1
        fi
    else
        echo "setup: not a Debian-like system; make sure these are installed: ${missing[*]}" >&2
    fi
fi

py="${PYTHON:-python3}"
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup: OmniOpt Desktop needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
[ -x .venv/bin/python ] || "$py" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
if [ "$mode" = "--test" ]; then
    .venv/bin/python -m pip install -q -e ".[test]"
else
    .venv/bin/python -m pip install -q -e .
fi
echo "setup: ready (.venv)"
