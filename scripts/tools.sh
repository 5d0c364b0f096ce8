#!/usr/bin/env bash
# The real operations tools the tests drive, from package registries; called by bootstrap.sh.
# Idempotent and quick when everything is there; exits 2 with the reason when it cannot install.
#   promtool, prometheus   Debian's `prometheus` (alert unit tests, the Prometheus integration test)
#   amtool                 Debian's `prometheus-alertmanager` (Alertmanager config and routing)
#   asyncapi               npm @asyncapi/cli, pinned, under $CACHE_ROOT (the AsyncAPI contract)
#   kubectl or kustomize   the image's kubectl; else kustomize from the Go module proxy
# Links to the cached tools go to $CACHE_ROOT/bin (tests look there after PATH).
set -euo pipefail

ASYNCAPI_CLI_VERSION=6.2.0
KUSTOMIZE_VERSION=v5.5.0
PROMETHEUS_MIN_VERSION=2.42
CACHE_ROOT="${REPAYMENT_CACHE_DIR:-$HOME/.cache/repayment-stream}"
BIN="$CACHE_ROOT/bin"

say() { echo "tools: $*"; }
missing() { echo "tools: $*" >&2; exit 2; }

mkdir -p "$BIN"

version_at_least() { # version_at_least HAVE WANT
  [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]
}

prometheus_version() { # "2.42.0" from "prometheus, version 2.42.0+ds (...)"
  "$1" --version 2>&1 | sed -n 's/^[a-z]*, version \([0-9][0-9.]*\).*/\1/p' | head -n1
}

prometheus_ok() {
  local tool version
  for tool in prometheus promtool amtool; do
    command -v "$tool" >/dev/null 2>&1 || return 1
  done
  version="$(prometheus_version prometheus)"
  [[ -n "$version" ]] && version_at_least "$version" "$PROMETHEUS_MIN_VERSION"
}

if ! prometheus_ok; then
  if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    missing "prometheus, promtool and amtool (Prometheus >= $PROMETHEUS_MIN_VERSION) are needed by the tests; as root on Debian: apt-get install prometheus prometheus-alertmanager"
  fi
  say "installing Debian's prometheus and prometheus-alertmanager (promtool, amtool)"
  # A Debian host with systemd starts both services; the tests never use them (own ports).
  apt-get update -qq ||
    missing "apt-get update failed: cannot install prometheus"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    prometheus prometheus-alertmanager >/dev/null ||
    missing "apt-get install prometheus prometheus-alertmanager failed"
  prometheus_ok ||
    missing "installed Prometheus is $(prometheus_version prometheus); the tests need >= $PROMETHEUS_MIN_VERSION"
fi
say "prometheus $(prometheus_version prometheus), promtool, amtool: $(command -v prometheus promtool amtool | tr '\n' ' ')"

asyncapi_dir="$CACHE_ROOT/asyncapi-cli-$ASYNCAPI_CLI_VERSION"
if [[ ! -x "$asyncapi_dir/node_modules/.bin/asyncapi" ]]; then
  command -v npm >/dev/null 2>&1 ||
    missing "npm not found: the AsyncAPI test needs Node.js >= 20 with npm (Debian: apt-get install nodejs npm)"
  say "installing @asyncapi/cli@$ASYNCAPI_CLI_VERSION into $asyncapi_dir (about a minute, once)"
  rm -rf "$asyncapi_dir.partial"
  npm install --prefix "$asyncapi_dir.partial" --no-audit --no-fund --ignore-scripts \
    --loglevel=error "@asyncapi/cli@$ASYNCAPI_CLI_VERSION" >/dev/null ||
    missing "npm install @asyncapi/cli@$ASYNCAPI_CLI_VERSION failed"
  rm -rf "$asyncapi_dir"
  mv "$asyncapi_dir.partial" "$asyncapi_dir"
fi
# The wrapper keeps the CLI's usage analytics off (no network calls) and its config here.
cat >"$BIN/asyncapi.new" <<EOF
#!/usr/bin/env bash
# Written by scripts/tools.sh: @asyncapi/cli $ASYNCAPI_CLI_VERSION without usage analytics.
export ASYNCAPI_METRICS_CONFIG_PATH="$CACHE_ROOT/asyncapi-analytics.json"
export SUPPRESS_NO_CONFIG_WARNING=1
exec "$asyncapi_dir/node_modules/.bin/asyncapi" "\$@"
EOF
echo '{"analyticsEnabled":"false","infoMessageShown":"true","userID":"repayment-stream"}' \
  >"$CACHE_ROOT/asyncapi-analytics.json"
chmod +x "$BIN/asyncapi.new"
mv "$BIN/asyncapi.new" "$BIN/asyncapi"
say "asyncapi $ASYNCAPI_CLI_VERSION: $BIN/asyncapi"

if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
  say "kubectl: $(command -v kubectl)"
elif [[ -x "$BIN/kustomize" ]]; then
  say "kustomize: $BIN/kustomize"
else
  command -v go >/dev/null 2>&1 ||
    missing "neither kubectl nor go found: install kubectl, or Go to build kustomize $KUSTOMIZE_VERSION"
  say "building kustomize $KUSTOMIZE_VERSION with go install (once)"
  GOBIN="$BIN" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" ||
    missing "go install sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION failed"
  say "kustomize: $BIN/kustomize"
fi
