#!/usr/bin/env bash
# A local Apache Kafka (KRaft, no ZooKeeper, no Docker) for development and tests.
# The broker comes from Maven Central through the machine's Maven; the version is pinned
# in pom.xml beside this script. See `kafka.sh --help`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml")"
CACHE_ROOT="${REPAYMENT_CACHE_DIR:-$HOME/.cache/repayment-stream}"
KAFKA_HOME_DIR="$CACHE_ROOT/kafka-$KAFKA_VERSION"
LIBS="$KAFKA_HOME_DIR/libs"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-./var/kafka-$KAFKA_PORT}"
KAFKA_CLUSTER_PORT="${KAFKA_CLUSTER_PORT:-9192}"
KAFKA_CLUSTER_DIR="${KAFKA_CLUSTER_DIR:-./var/kafka-cluster-$KAFKA_CLUSTER_PORT}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms128m -Xmx1g}"
KAFKA_OPTS="${KAFKA_OPTS:-}"
KAFKA_AUTO_CREATE_TOPICS="${KAFKA_AUTO_CREATE_TOPICS:-false}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
KAFKA_STOP_WITH_PID="${KAFKA_STOP_WITH_PID:-}"

usage() {
  cat <<EOF
Usage: kafka.sh COMMAND [ARGS]

A local Apache Kafka $KAFKA_VERSION (KRaft) on 127.0.0.1, resolved from Maven Central.

Commands:
  fetch                 resolve the broker jars into $LIBS (no-op when cached)
  start                 format storage if new, start one broker+controller, wait until it answers
  stop                  stop it (SIGTERM, then SIGKILL after KAFKA_STOP_TIMEOUT seconds)
  status                exit 0 running and answering, 1 running but not answering, 3 stopped
  cluster-start [N]     start N combined broker+controller nodes (default 3, quorum of N)
  cluster-stop          stop every node of the cluster
  cluster-status        status of every node
  node-stop I | node-kill I | node-start I
                        stop (SIGTERM), crash (SIGKILL) or restart cluster node I (1-based)

Single broker: port KAFKA_PORT (default 9092), controller KAFKA_CONTROLLER_PORT (default
KAFKA_PORT+1), data and logs in KAFKA_DATA_DIR (default ./var/kafka-<port>). Internal topics
have replication 1 and group.initial.rebalance.delay.ms is 0.
Cluster: node I listens on KAFKA_CLUSTER_PORT+2(I-1) (default base 9192), its controller on
the next port; data in KAFKA_CLUSTER_DIR (default ./var/kafka-cluster-<base>)/node-I.
Topics default to replication min(N,3) and min.insync.replicas 2 (N>=3).
Automatic topic creation is off (KAFKA_AUTO_CREATE_TOPICS=true turns it on): the worker and
the tests create their topics with explicit partition counts.
Other settings: KAFKA_HEAP_OPTS (default "-Xms128m -Xmx1g"), KAFKA_OPTS (extra JVM options),
KAFKA_START_TIMEOUT (90 s), REPAYMENT_CACHE_DIR (default ~/.cache/repayment-stream),
KAFKA_STOP_WITH_PID (stop the broker when that process exits: test sessions use it).
Needs java 17+ and python3; fetch needs mvn. Exit 2 when one is missing.
EOF
}

say() { echo "kafka.sh: $*" >&2; }
missing() { say "$*"; exit 2; }

need_java() {
  command -v java >/dev/null 2>&1 ||
    missing "java not found: install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)"
  local major
  major="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)"
  [[ "${major:-0}" -ge 17 ]] || missing "java ${major:-?} found, Kafka $KAFKA_VERSION needs Java 17+"
}

need_python() {
  command -v python3 >/dev/null 2>&1 || missing "python3 not found: it checks that the broker answers"
}

cmd_fetch() {
  local stamp="$LIBS/.complete" want
  want="$(sha256sum "$HERE/pom.xml" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    say "Kafka $KAFKA_VERSION cached in $LIBS"
    return 0
  fi
  command -v mvn >/dev/null 2>&1 ||
    missing "mvn not found: install Maven to fetch Kafka (Debian: apt-get install maven)"
  mkdir -p "$KAFKA_HOME_DIR"
  exec 9>"$KAFKA_HOME_DIR/.fetch.lock"
  flock 9
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    exec 9>&-
    return 0
  fi
  say "fetching Kafka $KAFKA_VERSION from Maven Central into $LIBS"
  local build
  build="$(mktemp -d "$KAFKA_HOME_DIR/.fetch.XXXXXX")"
  cp "$HERE/pom.xml" "$build/pom.xml"
  if ! (cd "$build" && mvn -B -q dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$build/libs" >"$build/mvn.log" 2>&1); then
    say "mvn failed; last lines of $build/mvn.log:"
    tail -n 20 "$build/mvn.log" >&2
    exit 1
  fi
  [[ -f "$build/libs/kafka_2.13-$KAFKA_VERSION.jar" ]] || {
    say "mvn did not produce kafka_2.13-$KAFKA_VERSION.jar"
    exit 1
  }
  rm -rf "$LIBS"
  mv "$build/libs" "$LIBS"
  echo "$want" >"$stamp"
  rm -rf "$build"
  exec 9>&-
  say "Kafka $KAFKA_VERSION: $(find "$LIBS" -name '*.jar' | wc -l) jars in $LIBS"
}

abspath() { realpath -m -- "$1"; }

# write_config DIR NODE_ID PORT CONTROLLER_PORT VOTERS NODES
write_config() {
  local dir="$1" node_id="$2" port="$3" cport="$4" voters="$5" nodes="$6"
  local replication=$((nodes < 3 ? nodes : 3)) min_isr=$((nodes >= 3 ? 2 : 1))
  mkdir -p "$dir/data" "$dir/logs"
  cat >"$dir/server.properties" <<EOF
# Written by deploy/kafka/kafka.sh; rewritten on every start.
process.roles=broker,controller
node.id=$node_id
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.network.threads=2
num.io.threads=4
auto.create.topics.enable=$KAFKA_AUTO_CREATE_TOPICS
default.replication.factor=$replication
min.insync.replicas=$min_isr
offsets.topic.replication.factor=$replication
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$replication
transaction.state.log.min.isr=$min_isr
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=$replication
share.coordinator.state.topic.min.isr=$min_isr
group.initial.rebalance.delay.ms=0
EOF
}

# format_storage DIR CLUSTER_ID: only a new data dir is formatted; restarts keep their data.
format_storage() {
  local dir="$1" cluster_id="$2"
  [[ -f "$dir/data/meta.properties" ]] && return 0
  java -Xmx256m -Dkafka.logs.dir="$dir/logs" -Dlog4j2.configurationFile="$HERE/log4j2.properties" \
    -cp "$LIBS/*" kafka.tools.StorageTool format --ignore-formatted \
    -t "$cluster_id" -c "$dir/server.properties" >"$dir/logs/format.log" 2>&1 || {
    say "formatting $dir failed:"
    tail -n 20 "$dir/logs/format.log" >&2
    exit 1
  }
}

# 16 random bytes, base64url, as Kafka's own Uuid.randomUuid: never starting with "-", which
# kafka-storage's argument parser would read as an option (1 start in 64 failed before).
new_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id != -* ]] && break
  done
  echo "$id"
}

# The marker in the command line tells our broker apart from a process that reused the pid.
broker_pid() {
  local dir="$1" pid
  [[ -f "$dir/kafka.pid" ]] || return 1
  pid="$(cat "$dir/kafka.pid")"
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-Drepayment.kafka.dir=$dir " || return 1
  echo "$pid"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

launch() {
  local dir="$1" port="$2" cport="$3" p
  for p in "$port" "$cport"; do
    port_busy "$p" && { say "port $p on 127.0.0.1 is already in use by another process"; exit 1; }
  done
  # shellcheck disable=SC2086  # KAFKA_HEAP_OPTS and KAFKA_OPTS are word lists
  setsid nohup java $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    $KAFKA_OPTS -Dkafka.logs.dir="$dir/logs" -Dlog4j2.configurationFile="$HERE/log4j2.properties" \
    "-Drepayment.kafka.dir=$dir" -cp "$LIBS/*" kafka.Kafka "$dir/server.properties" \
    >"$dir/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$dir/kafka.pid"
  [[ -n "$KAFKA_STOP_WITH_PID" ]] && watch_owner "$KAFKA_STOP_WITH_PID" "$!"
  return 0
}

# A broker started for a test session must not outlive it, even when the session is killed:
# a detached watcher stops the broker (SIGTERM, later SIGKILL) once the owner pid is gone.
watch_owner() {
  local owner="$1" broker="$2"
  setsid nohup bash -c '
    while kill -0 "$0" 2>/dev/null && kill -0 "$1" 2>/dev/null; do sleep 2; done
    kill -TERM "$1" 2>/dev/null || exit 0
    for _ in $(seq 1 "$2"); do kill -0 "$1" 2>/dev/null || exit 0; sleep 1; done
    kill -KILL "$1" 2>/dev/null' "$owner" "$broker" "$KAFKA_STOP_TIMEOUT" >/dev/null 2>&1 </dev/null &
}

show_log_tail() {
  local dir="$1"
  say "last lines of $dir/logs/server.log:"
  tail -n 25 "$dir/logs/server.log" 2>/dev/null >&2 || tail -n 25 "$dir/logs/stdout.log" >&2 || true
}

# wait_ready BOOTSTRAP BROKERS DIR...: until the metadata lists BROKERS live brokers.
wait_ready() {
  local bootstrap="$1" brokers="$2" dir
  shift 2
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  until python3 "$HERE/kafka_ready.py" --brokers "$brokers" "$bootstrap"; do
    for dir in "$@"; do
      broker_pid "$dir" >/dev/null || {
        say "the broker in $dir exited while starting"
        show_log_tail "$dir"
        return 1
      }
    done
    if ((SECONDS >= deadline)); then
      say "no answer from $bootstrap after ${KAFKA_START_TIMEOUT}s"
      show_log_tail "$1"
      return 1
    fi
    sleep 0.5
  done
}

stop_dirs() {
  local dir pid pids=() deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
  for dir in "$@"; do
    if pid="$(broker_pid "$dir")"; then
      kill -TERM "$pid" && pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      say "pid $pid still running after ${KAFKA_STOP_TIMEOUT}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for dir in "$@"; do rm -f "$dir/kafka.pid"; done
  ((${#pids[@]} > 0)) && say "stopped ${#pids[@]} broker(s)" || say "not running"
}

cmd_start() {
  need_java
  need_python
  cmd_fetch
  local dir bootstrap="127.0.0.1:$KAFKA_PORT"
  dir="$(abspath "$KAFKA_DATA_DIR")"
  if broker_pid "$dir" >/dev/null; then
    wait_ready "$bootstrap" 1 "$dir" || exit 1
    say "already running on $bootstrap (data $dir)"
    return 0
  fi
  write_config "$dir" 1 "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "1@127.0.0.1:$KAFKA_CONTROLLER_PORT" 1
  format_storage "$dir" "$(new_cluster_id)"
  launch "$dir" "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"
  if ! wait_ready "$bootstrap" 1 "$dir"; then
    stop_dirs "$dir"
    exit 1
  fi
  say "Kafka $KAFKA_VERSION ready on $bootstrap (pid $(cat "$dir/kafka.pid"), log $dir/logs/server.log)"
}

cmd_status() {
  local dir pid
  dir="$(abspath "$KAFKA_DATA_DIR")"
  pid="$(broker_pid "$dir")" || { say "stopped ($dir)"; return 3; }
  if python3 "$HERE/kafka_ready.py" "127.0.0.1:$KAFKA_PORT"; then
    say "running on 127.0.0.1:$KAFKA_PORT (pid $pid, data $dir)"
  else
    say "pid $pid is running but 127.0.0.1:$KAFKA_PORT does not answer"
    return 1
  fi
}

cluster_root() { abspath "$KAFKA_CLUSTER_DIR"; }
node_port() { echo $((KAFKA_CLUSTER_PORT + 2 * ($1 - 1))); }
cluster_size() {
  local root="$1"
  [[ -f "$root/nodes" ]] || { say "no cluster in $root (run cluster-start first)"; exit 1; }
  cat "$root/nodes"
}
cluster_bootstrap() {
  local i servers=()
  for ((i = 1; i <= $1; i++)); do servers+=("127.0.0.1:$(node_port "$i")"); done
  (IFS=,; echo "${servers[*]}")
}

# start_node ROOT I N: config, format (shared cluster id) and launch node I of N.
start_node() {
  local root="$1" i="$2" n="$3" j voters=() port dir
  for ((j = 1; j <= n; j++)); do voters+=("$j@127.0.0.1:$(($(node_port "$j") + 1))"); done
  port="$(node_port "$i")"
  dir="$root/node-$i"
  broker_pid "$dir" >/dev/null && return 0
  write_config "$dir" "$i" "$port" "$((port + 1))" "$(IFS=,; echo "${voters[*]}")" "$n"
  format_storage "$dir" "$(cat "$root/cluster.id")"
  launch "$dir" "$port" "$((port + 1))"
}

cmd_cluster_start() {
  local n="${1:-3}" root i dirs=()
  [[ "$n" =~ ^[1-9]$ ]] || { say "cluster size must be 1-9, got '$n'"; exit 1; }
  need_java
  need_python
  cmd_fetch
  root="$(cluster_root)"
  if [[ -f "$root/nodes" && "$(cat "$root/nodes")" != "$n" ]]; then
    say "$root holds a cluster of $(cat "$root/nodes") nodes: use that size or another KAFKA_CLUSTER_DIR"
    exit 1
  fi
  mkdir -p "$root"
  [[ -f "$root/cluster.id" ]] || new_cluster_id >"$root/cluster.id"
  echo "$n" >"$root/nodes"
  for ((i = 1; i <= n; i++)); do
    start_node "$root" "$i" "$n"
    dirs+=("$root/node-$i")
  done
  if ! wait_ready "127.0.0.1:$(node_port 1)" "$n" "${dirs[@]}"; then
    stop_dirs "${dirs[@]}"
    exit 1
  fi
  say "Kafka $KAFKA_VERSION cluster of $n ready (data $root)"
  echo "KAFKA_BOOTSTRAP_SERVERS=$(cluster_bootstrap "$n")"
}

cluster_dirs() {
  local root="$1" n i
  n="$(cluster_size "$root")"
  for ((i = 1; i <= n; i++)); do echo "$root/node-$i"; done
}

cmd_cluster_stop() {
  local root dirs
  root="$(cluster_root)"
  [[ -f "$root/nodes" ]] || { say "no cluster in $root"; return 0; }
  mapfile -t dirs < <(cluster_dirs "$root")
  stop_dirs "${dirs[@]}"
}

cmd_cluster_status() {
  local root n i pid rc=0
  root="$(cluster_root)"
  n="$(cluster_size "$root")"
  for ((i = 1; i <= n; i++)); do
    if pid="$(broker_pid "$root/node-$i")"; then
      say "node $i: running on 127.0.0.1:$(node_port "$i") (pid $pid)"
    else
      say "node $i: stopped"
      rc=3
    fi
  done
  return "$rc"
}

cmd_node() {
  local action="$1" i="${2:-}" root n pid
  root="$(cluster_root)"
  n="$(cluster_size "$root")"
  [[ "$i" =~ ^[0-9]+$ ]] && ((i >= 1 && i <= n)) || { say "node must be 1..$n, got '$i'"; exit 1; }
  case "$action" in
    stop) stop_dirs "$root/node-$i" ;;
    kill)
      pid="$(broker_pid "$root/node-$i")" || { say "node $i is not running"; return 0; }
      kill -KILL "$pid"
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
      rm -f "$root/node-$i/kafka.pid"
      say "node $i killed (pid $pid)"
      ;;
    start)
      need_java
      need_python
      start_node "$root" "$i" "$n"
      wait_ready "127.0.0.1:$(node_port "$i")" "$n" "$root/node-$i" || exit 1
      say "node $i running on 127.0.0.1:$(node_port "$i")"
      ;;
  esac
}

main() {
  local command="${1:-}"
  shift || true
  case "$command" in
    fetch) cmd_fetch ;;
    start) cmd_start ;;
    stop) stop_dirs "$(abspath "$KAFKA_DATA_DIR")" ;;
    status) cmd_status ;;
    cluster-start) cmd_cluster_start "$@" ;;
    cluster-stop) cmd_cluster_stop ;;
    cluster-status) cmd_cluster_status ;;
    node-stop) cmd_node stop "$@" ;;
    node-kill) cmd_node kill "$@" ;;
    node-start) cmd_node start "$@" ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 64
      ;;
  esac
}

main "$@"
