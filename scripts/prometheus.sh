#!/usr/bin/env bash
# Run Prometheus in the foreground with the shipped deploy/prometheus/prometheus.yml and
# rules.yml, scraping local workers instead of docker-compose's worker:6066. Without Docker:
#   scripts/prometheus.sh                                   # scrape 127.0.0.1:6066, UI on :9090
#   scripts/prometheus.sh --targets 127.0.0.1:6066,127.0.0.1:6067 --listen 127.0.0.1:9091
# Only what names the surroundings changes, in a copy written to DATA/prometheus.yml: the
# scrape targets, the rule file's absolute path, the Alertmanager (--alertmanager, else none).
# --interval also shortens scrape and rule evaluation (the integration test uses 1s).
# Prometheus and promtool come from scripts/tools.sh (run by scripts/bootstrap.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHIPPED="$ROOT/deploy/prometheus/prometheus.yml"
RULES="$ROOT/deploy/prometheus/rules.yml"
PYTHON="$ROOT/.venv/bin/python"

targets=127.0.0.1:6066
listen=127.0.0.1:9090
data="$ROOT/var/prometheus"
interval=
alertmanager=

usage() { sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
fail() { echo "prometheus.sh: $*" >&2; exit 2; }

while (($# > 0)); do
  case "$1" in
    --targets) targets="${2:?--targets needs HOST:PORT[,HOST:PORT...]}"; shift 2 ;;
    --listen) listen="${2:?--listen needs HOST:PORT}"; shift 2 ;;
    --data) data="${2:?--data needs a directory}"; shift 2 ;;
    --interval) interval="${2:?--interval needs a duration such as 1s}"; shift 2 ;;
    --alertmanager) alertmanager="${2:?--alertmanager needs HOST:PORT}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; fail "unknown argument: $1" ;;
  esac
done

command -v prometheus >/dev/null 2>&1 || fail "prometheus not found: run scripts/bootstrap.sh"
command -v promtool >/dev/null 2>&1 || fail "promtool not found: run scripts/bootstrap.sh"
[[ -x "$PYTHON" ]] || fail "$PYTHON not found: run scripts/bootstrap.sh"

mkdir -p "$data"
config="$data/prometheus.yml"
"$PYTHON" - "$SHIPPED" "$RULES" "$config" "$targets" "$interval" "$alertmanager" <<'EOF'
import sys

import yaml

shipped, rules, out, targets, interval, alertmanager = sys.argv[1:]
config = yaml.safe_load(open(shipped, encoding="utf-8"))
config["rule_files"] = [rules]
(job,) = config["scrape_configs"]
(static,) = job["static_configs"]
static["targets"] = targets.split(",")
if interval:
    config["global"]["scrape_interval"] = interval
    config["global"]["evaluation_interval"] = interval
if alertmanager:
    config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [alertmanager]}]}]
else:
    del config["alerting"]
with open(out, "w", encoding="utf-8") as f:
    f.write(f"# Written by scripts/prometheus.sh from {shipped}\n")
    yaml.safe_dump(config, f, sort_keys=False)
EOF
promtool check config "$config" >/dev/null || fail "promtool rejects $config"

echo "prometheus.sh: $config: scraping $targets, UI and API on http://$listen" >&2
exec prometheus \
  --config.file="$config" \
  --storage.tsdb.path="$data/tsdb" \
  --web.listen-address="$listen" \
  --log.level=warn
