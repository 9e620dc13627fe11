#!/usr/bin/env bash
# The README's first command: install esmctl (with the sandbox extra) into .venv, start the local
# sandbox on 127.0.0.1 (no AWS account), apply examples/mappings.yaml, show the result and its health, stop.
# The seeded sandbox is a playground: it writes the CloudWatch metrics a live account would have, so
# status shows orders-fn healthy, audit-fn lagging and jobs-fn failing.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d .venv ] || python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --disable-pip-version-check -e '.[sandbox]'

work=$(mktemp -d)
port=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
esmctl sandbox --seed --port "$port" >"$work/env" 2>"$work/log" &
sandbox=$!
# Stopped at the end however the demo ends; if it has not stopped within 10 s, it is killed: the demo never hangs.
stop_sandbox() {
    kill "$sandbox" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$sandbox" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$sandbox" 2>/dev/null || true
    wait "$sandbox" 2>/dev/null || true
    rm -rf "$work"
}
trap stop_sandbox EXIT
for _ in $(seq 1 120); do grep -q AWS_REGION "$work/env" 2>/dev/null && break; sleep 0.25; done
grep -q AWS_REGION "$work/env" || { cat "$work/log"; echo "the sandbox did not start" >&2; exit 1; }
set -a; . "$work/env"; set +a   # the endpoint, keys, region, ACCOUNT and ORDERS_TABLE_STREAM

# Bold commands at a terminal only: piped or redirected, the output is plain text (NO_COLOR too).
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; "$@"; }
step esmctl validate examples/mappings.yaml
step esmctl plan examples/mappings.yaml
step esmctl apply examples/mappings.yaml
step esmctl list
step esmctl diff examples/mappings.yaml
# status and doctor exit 3 when something is unhealthy: say what the code means and go on (set -e
# would stop the demo there); any other failure still ends it.
health() {
    local code=0
    step "$@" || code=$?
    case $code in
        0) echo "(exit 0: nothing unhealthy)" ;;
        3) echo "(exit 3: unhealthy — in this sandbox the playground makes audit-fn lag and jobs-fn fail on purpose)" ;;
        *) exit "$code" ;;
    esac
}
health esmctl status examples/mappings.yaml --max-lag 5m
health esmctl doctor examples/mappings.yaml
echo; echo "Demo done: the sandbox stops now. Run 'esmctl sandbox --seed' to keep one up."
