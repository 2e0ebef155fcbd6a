#!/usr/bin/env bash
# Draws docs/grafana/netready-dashboard.png: the example dashboard on a
# running lab. Grafana is not installable where this was written, so this
# does what Grafana would: a real netreadyd (bbolt store, metrics on
# loopback) under a few minutes of gNMI load (cmd/netready-load), a real
# Prometheus scraping it every 2 s, and every panel of the dashboard JSON
# drawn from its own PromQL queries (render.py). Everything runs on
# loopback, in a temporary directory removed at the end.
#
#   docs/grafana/render.sh [OUT.png]     # DURATION=3m by default
set -euo pipefail

cd "$(dirname "$0")/../.."
out=${1:-docs/grafana/netready-dashboard.png}
duration=${DURATION:-3m}
dash=docs/grafana/netready-dashboard.json
py=/usr/bin/python3 # Debian's, which python3-matplotlib installs into (not a pyenv's)

.ci/deps dashboard
make -s build
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
go build -o "$tmp/load" ./cmd/netready-load

# Three free loopback ports: gNMI, metrics, Prometheus.
read -r gnmi metrics prom < <($py -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')

# An administrator, and a viewer whose Sets are refused.
for u in admin:admin vic:viewer; do
  head -c 18 /dev/urandom | base64 >"$tmp/${u%%:*}.pw"
  bin/netreadyd user add "${u%%:*}" --role "${u#*:}" --users-file "$tmp/users.json" <"$tmp/${u%%:*}.pw"
done

bin/netreadyd --data-dir "$tmp/data" --users-file "$tmp/users.json" --listen "127.0.0.1:$gnmi" \
  --metrics-listen "127.0.0.1:$metrics" --log-level warn 2>"$tmp/netreadyd.log" &
pids+=($!)

cat >"$tmp/prometheus.yml" <<EOF
global: {scrape_interval: 2s, evaluation_interval: 2s}
scrape_configs:
  - job_name: netreadyd
    static_configs: [{targets: ["127.0.0.1:$metrics"]}]
EOF
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prom" \
  --web.listen-address="127.0.0.1:$prom" --log.level=warn 2>"$tmp/prometheus.log" &
pids+=($!)

# Both up: netreadyd serving, Prometheus ready. (grep reads all: with
# pipefail, grep -q would fail the pipeline when curl gets SIGPIPE.)
serving() { curl -sf "http://127.0.0.1:$metrics/metrics" | grep '^netready_serving 1' >/dev/null; }
for _ in $(seq 60); do
  serving && curl -sf "http://127.0.0.1:$prom/-/ready" >/dev/null && break
  sleep 1
done
serving || { cat "$tmp/netreadyd.log" >&2; echo "netreadyd did not start" >&2; exit 1; }

from=$(date +%s)
"$tmp/load" -addr "127.0.0.1:$gnmi" -ca "$tmp/data/server.crt" -duration "$duration" \
  -admin-password-file "$tmp/admin.pw" -viewer-password-file "$tmp/vic.pw"
sleep 5 # the last scrapes
$py docs/grafana/render.py --prometheus "http://127.0.0.1:$prom" --dashboard "$dash" \
  --start "$from" --end "$(date +%s)" --scrape-interval 2 --out "$out"
echo "wrote $out"
