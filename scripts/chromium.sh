#!/usr/bin/env bash
# Prints the path of a Chromium that can run headless, for the report tests and the report
# screenshot. Installs Debian's `chromium` package when /usr/bin/chromium is missing.
#
# Usage:
#   scripts/chromium.sh                      prints e.g. /usr/bin/chromium
#   export FLOW_TEST_CHROMIUM="$(scripts/chromium.sh)"
#
# Only the path goes to standard output; apt's output goes to standard error. Installing
# needs root, or sudo for a user that may use it. Exits 1 with a message saying what to do
# when Chromium cannot be found or installed.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

fail() {
    echo "scripts/chromium.sh: $*" >&2
    exit 1
}

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@" || fail "installing Chromium needs root: run \`sudo apt-get install -y --no-install-recommends chromium\` once, then try again"
    else
        fail "Chromium is not installed and this user is not root and has no sudo; install Debian's \`chromium\` package as root"
    fi
}

install_chromium() {
    command -v apt-get >/dev/null 2>&1 ||
        fail "Chromium is not installed at $CHROMIUM and there is no apt-get to install it; install a Chromium and link it there"
    echo "installing Chromium (Debian package chromium) ..." >&2
    # A fresh machine has no package lists yet; update once and retry only if needed.
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >&2; then
        as_root apt-get update >&2 || fail "apt-get update failed; check the network access to Debian's mirrors"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >&2 ||
            fail "apt-get could not install chromium (see its output above)"
    fi
}

if [ ! -x "$CHROMIUM" ]; then
    install_chromium
fi
[ -x "$CHROMIUM" ] || fail "the chromium package installed, but $CHROMIUM is not there"
"$CHROMIUM" --headless --no-sandbox --disable-gpu --version >/dev/null 2>&1 ||
    fail "$CHROMIUM does not start (try \`$CHROMIUM --headless --no-sandbox --version\` to see why)"
echo "$CHROMIUM"
