#!/usr/bin/env bash
# Benchmarks from a fresh machine: set up, start a local Kafka broker (unless
# KAFKA_BOOTSTRAP_SERVERS is set), run `python -m bench` with the given arguments, stop it.
#   scripts/bench.sh --quick            # every suite, small sizes (~3 min)
#   scripts/bench.sh                    # the full run (100,000 customers; long)
#   scripts/bench.sh e2e baseline       # some suites
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# shellcheck disable=SC1091
. .venv/bin/activate
if ! python -c "import quixstreams, pyinstrument" 2>/dev/null; then
    echo "bench.sh: installing the bench extra (pip install -e '.[bench]': quixstreams for the peer suite)" >&2
    python -m pip install --quiet --disable-pip-version-check -e '.[bench]'
fi

data="$(pwd)/var/bench-kafka"
started=""
cleanup() {
    if [ -n "$started" ]; then
        KAFKA_DATA_DIR="$data" bash deploy/kafka/kafka.sh stop || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
    export KAFKA_PORT=${KAFKA_PORT:-39092}
    rm -rf "$data"
    KAFKA_DATA_DIR="$data" bash deploy/kafka/kafka.sh start
    started=1
    export KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT"
fi
python -m bench "$@"
