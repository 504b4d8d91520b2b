# Starts the loopback AWS emulators for a test script (sourced) and stops
# them, by pid, when the script exits (also on failure).
#
#   emu_start sqs|s3|dynamodb   starts one on a free 127.0.0.1 port and sets
#                               EMU_SQS / EMU_S3 / EMU_DYNAMODB to its URL
#   emu_stop_all                stops them (installed as an EXIT trap by
#                               emu_init; call it yourself if you replace the
#                               trap)
#
# The emulators come from node_modules (npm ci with the committed lock file;
# `make deps` runs it).  Their data directories live under $EMU_DIR.
: "${ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
EMU_PIDS=()
EMU_DIR=${EMU_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/onesheet-emu-XXXXXX")}
mkdir -p "$EMU_DIR"

emu_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

emu_wait_port() {  # port timeout_s
    local port=$1 deadline=$((SECONDS + ${2:-20}))
    while ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || { echo "emulator on port $port did not start" >&2; return 1; }
        sleep 0.1
    done
}

emu_require() {
    [ -d "$ROOT/node_modules/fauxqs" ] && [ -d "$ROOT/node_modules/s3rver" ] && [ -d "$ROOT/node_modules/dynalite" ] || {
        echo "emulators missing: run 'make deps' (npm ci)" >&2; return 1; }
    command -v node >/dev/null || { echo "node is not installed" >&2; return 1; }
}

emu_start() {
    local kind=$1 port
    emu_require || return 1
    port=$(emu_free_port)
    case "$kind" in
    sqs)
        # fauxqs binds every interface; the test sandbox only talks loopback.
        FAUXQS_PORT=$port FAUXQS_LOGGER=false node "$ROOT/node_modules/fauxqs/dist/cli.js" \
            >"$EMU_DIR/sqs.log" 2>&1 &
        EMU_PIDS+=($!); EMU_SQS=http://127.0.0.1:$port ;;
    s3)
        mkdir -p "$EMU_DIR/s3"
        node "$ROOT/node_modules/s3rver/bin/s3rver.js" -d "$EMU_DIR/s3" -a 127.0.0.1 -p "$port" \
            --no-vhost-buckets --silent >"$EMU_DIR/s3.log" 2>&1 &
        EMU_PIDS+=($!); EMU_S3=http://127.0.0.1:$port ;;
    dynamodb)
        node "$ROOT/node_modules/dynalite/cli.js" --host 127.0.0.1 --port "$port" \
            >"$EMU_DIR/dynamodb.log" 2>&1 &
        EMU_PIDS+=($!); EMU_DYNAMODB=http://127.0.0.1:$port ;;
    *) echo "emu_start: unknown emulator $kind" >&2; return 1 ;;
    esac
    emu_wait_port "$port" 30
}

emu_stop_all() {
    local p
    for p in "${EMU_PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    for p in "${EMU_PIDS[@]:-}"; do
        [ -n "$p" ] && { wait "$p" 2>/dev/null || true; }
    done
    EMU_PIDS=()
    rm -rf "$EMU_DIR"
}
