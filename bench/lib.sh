# Helpers shared by bench/run.sh, bench/data.sh and bench/cluster.sh (sourced, not run). The caller sets
# `work` (a scratch directory) and `duration` (seconds per scenario) before calling measure.
#
# Pinning: servers run on core BENCH_SERVER_CPU (default 1) with one worker, wrk (and HAProxy) on core
# BENCH_LOAD_CPU (default 0), so a figure is one server core's, and the load generator never takes its time.
# On a one-core machine nothing is pinned.

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command -v wrk >/dev/null || { echo "bench needs wrk: apt-get install wrk" >&2; exit 1; }
command -v curl >/dev/null || { echo "bench needs curl" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench needs python3" >&2; exit 1; }

if (( $(nproc) >= 2 )) && command -v taskset >/dev/null; then
  on_server_core=(taskset -c "${BENCH_SERVER_CPU:-1}")
  on_load_core=(taskset -c "${BENCH_LOAD_CPU:-0}")
  pinning="servers pinned to core ${BENCH_SERVER_CPU:-1} (one worker each), load on core ${BENCH_LOAD_CPU:-0}"
else
  on_server_core=()
  on_load_core=()
  pinning="not pinned (one core)"
fi
export TESSERA_SERVER__WORKERS=1

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# json_field NAME: one string field of the JSON object on stdin (empty when absent).
json_field() { python3 -c 'import json, sys
try: print(json.load(sys.stdin).get(sys.argv[1]) or "")
except ValueError: print("")' "$1"; }
# wait_ready URL: until URL/health/ready answers 200 (at most 60 s).
wait_ready() {
  for _ in $(seq 600); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1/health/ready" || true) == 200 ]] && return 0
    sleep 0.1
  done
  echo "bench: $1 was not ready within 60 s" >&2
  return 1
}
rss_kb() { local kb; kb=$(awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null) || true; echo "${kb:-0}"; }

# measure PIDS [wrk arguments…]: one wrk run on the load core, sampling the resident memory of PIDS (one pid,
# or several comma-separated, summed) while it runs. Sets m_rps, m_requests, m_p50, m_p99, m_peak (MB) and m_note
# (failures: non-2xx answers, socket errors, wrk failing, a server gone).
measure() {
  local pids=$1; shift
  local peak=0 now load out errors socket pid
  m_note=
  "${on_load_core[@]}" wrk --latency -d"${duration}s" "$@" >"$work/wrk.txt" 2>&1 &
  load=$!
  while kill -0 $load 2>/dev/null; do
    now=0
    for pid in ${pids//,/ }; do now=$((now + $(rss_kb "$pid"))); done
    (( now > peak )) && peak=$now
    sleep 0.2
  done
  wait $load || m_note="(wrk failed: $(head -1 "$work/wrk.txt"))"
  out=$(cat "$work/wrk.txt")
  m_rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  m_requests=$(awk '/requests in/ {print $1}' <<<"$out")
  m_p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  m_p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  m_peak=$((peak / 1024))
  errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  socket=$(awk '/Socket errors/ {print $4 + $6 + $8 + $10}' <<<"$out")
  m_note+=${errors:+($errors non-2xx)}
  (( ${socket:-0} > 0 )) && m_note+="($socket socket errors)"
  for pid in ${pids//,/ }; do kill -0 "$pid" 2>/dev/null || m_note+="(server $pid exited)"; done
  return 0
}

# ms VALUE: a wrk latency (850.00us, 1.20ms, 2.00s) in milliseconds.
ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) n *= 1000; printf "%.2f", n }'; }
