#!/usr/bin/env bash
# The README's first command: a local Kafka broker, one worker, the sample history, the decisions.
#
# Sets everything up on a fresh machine (venv, package, Kafka jars), starts a fresh broker
# (unless KAFKA_BOOTSTRAP_SERVERS is set) and a worker whose clock follows the sample's event
# time, publishes examples/sample_history.jsonl paced like `replay`, prints every decision,
# and checks they equal `repayment-stream replay` on the same file, ids included.
# Ctrl-C (or the end, when not run from a terminal) stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

history=${DEMO_HISTORY:-examples/sample_history.jsonl}
until=${DEMO_UNTIL:-2026-06-30T00:00:00Z}
demo_dir="$root/var/demo"

say() { printf '\n\033[1m== [%ss] %s\033[0m\n' "$SECONDS" "$*" >&2; }

say "Setting up (venv, package, Kafka jars)"
bash scripts/bootstrap.sh
# shellcheck disable=SC1091
. .venv/bin/activate

worker_pid=""
started_kafka=""
cleanup() {
    trap - EXIT INT TERM
    if [ -n "$worker_pid" ] && kill -0 "$worker_pid" 2>/dev/null; then
        say "Stopping the worker"
        kill -TERM "$worker_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$worker_pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$worker_pid" 2>/dev/null || true
    fi
    if [ -n "$started_kafka" ]; then
        say "Stopping the Kafka broker"
        KAFKA_PORT=$KAFKA_PORT KAFKA_DATA_DIR="$demo_dir/kafka" bash deploy/kafka/kafka.sh stop || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$demo_dir"
mkdir -p "$demo_dir"
if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
    export KAFKA_PORT=${KAFKA_PORT:-9092}
    say "Starting a local Kafka broker on 127.0.0.1:$KAFKA_PORT"
    KAFKA_DATA_DIR="$demo_dir/kafka" bash deploy/kafka/kafka.sh start
    started_kafka=1
    export KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT"
fi

run_id=$(date +%s)
export REPAYMENT_APP_ID=${REPAYMENT_APP_ID:-repayment-stream-demo-$run_id}
export REPAYMENT_TOPIC_NAMESPACE=${REPAYMENT_TOPIC_NAMESPACE:-repayments}
# Two partitions keep the paced publish short: every clock tick is one message per partition.
export REPAYMENT_PARTITIONS=${REPAYMENT_PARTITIONS:-2}
export REPAYMENT_CLOCK=event
export REPAYMENT_DATA_DIR="$demo_dir/data"
export REPAYMENT_WEB_PORT=${REPAYMENT_WEB_PORT:-6066}
url="http://127.0.0.1:$REPAYMENT_WEB_PORT"

say "Starting the worker (logs: var/demo/worker.log)"
repayment-stream worker --loglevel info >"$demo_dir/worker.log" 2>&1 &
worker_pid=$!
for i in $(seq 1 120); do
    if curl -fs "$url/readyz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$worker_pid" 2>/dev/null; then
        echo "the worker exited; last lines of var/demo/worker.log:" >&2
        tail -n 30 "$demo_dir/worker.log" >&2
        exit 1
    fi
    [ "$i" = 120 ] && { echo "the worker was not ready after 120 s" >&2; tail -n 30 "$demo_dir/worker.log" >&2; exit 1; }
    sleep 1
done

say "Publishing $history with the replay clock (ticks up to $until)"
repayment-stream publish "$history" --ticks --until "$until" --worker-url "$url"

say "Decisions emitted by the worker"
repayment-stream tail --from-beginning --seconds 3

say "Comparing with 'repayment-stream replay' on the same file"
repayment-stream tail --from-beginning --seconds 3 --json 2>/dev/null >"$demo_dir/worker.jsonl"
repayment-stream replay "$history" --until "$until" >"$demo_dir/replay.jsonl"
repayment-stream compare "$demo_dir/replay.jsonl" "$demo_dir/worker.jsonl"

say "The worker is still running: try"
cat >&2 <<EOF
  curl -s $url/customers/cust-002 | python -m json.tool
  curl -s $url/metrics | grep ^repayment_
EOF
if [ -t 0 ]; then
    echo "Press Ctrl-C to stop the worker and the broker." >&2
    wait "$worker_pid"
fi
