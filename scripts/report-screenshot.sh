#!/usr/bin/env bash
# Renders the report of the bundled example to docs/images/report.png (the docs' screenshot).
#
# Usage: scripts/report-screenshot.sh [OUT.png]     (default docs/images/report.png)
#
# Runs examples/diabetes.kdl with a small budget (FLOW_SCREENSHOT_ITERATIONS, default 60)
# into a temporary results directory, writes its report with `flow report`, and takes a
# full-page screenshot of it in headless Chromium (installed by scripts/chromium.sh when
# missing). Needs the Rust toolchain; builds flow in the dev profile.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT="${1:-docs/images/report.png}"
ITERATIONS="${FLOW_SCREENSHOT_ITERATIONS:-60}"
WIDTH=1100

CHROMIUM="$(scripts/chromium.sh)"
cargo build --quiet --bin flow
FLOW="$(pwd)/target/debug/flow"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$FLOW" run examples/diabetes.kdl --quiet \
    -S "search.iterations=$ITERATIONS" -S "output=$WORK/results"
"$FLOW" report "$WORK/results" -o "$WORK/report.html"

chrome() {
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$WORK/profile" "$@" 2>/dev/null
}

# The page's height at this width, measured by Chromium itself, so the shot holds it all.
sed 's#</body>#<script>document.body.setAttribute("data-height", document.documentElement.scrollHeight)</script></body>#' \
    "$WORK/report.html" >"$WORK/measure.html"
HEIGHT="$(chrome --window-size="$WIDTH,1000" --dump-dom "file://$WORK/measure.html" |
    sed -n 's/.*data-height="\([0-9]*\)".*/\1/p' | head -n 1)"
[ -n "$HEIGHT" ] || { echo "scripts/report-screenshot.sh: Chromium did not render the report" >&2; exit 1; }

mkdir -p "$(dirname "$OUT")"
chrome --window-size="$WIDTH,$HEIGHT" --screenshot="$OUT" "file://$WORK/report.html" >/dev/null
[ -s "$OUT" ] || { echo "scripts/report-screenshot.sh: no screenshot was written" >&2; exit 1; }
echo "$OUT (${WIDTH}x${HEIGHT})"
