#!/usr/bin/env bash
# The embedded default: local Redis + `airflow standalone` (api-server on 127.0.0.1:8080, scheduler,
# dag-processor, triggerer; SQLite metadata DB), all state under var/.
#   scripts/run-standalone.sh [start]   start in the background, wait until the UI answers, print how to log in
#   scripts/run-standalone.sh stop      stop Airflow (its whole process group) and the local Redis
#   scripts/run-standalone.sh status
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/env.sh
source scripts/env.sh

PIDFILE="$FTI_VAR_DIR/airflow-standalone.pid"
LOG="$FTI_VAR_DIR/airflow-standalone.log"
URL="http://$AIRFLOW__API__HOST:$AIRFLOW__API__PORT"
# Airflow writes the admin's generated password here (and prints it to $LOG): both exist, mode 0600,
# before it starts, so they are never readable by other users (Airflow would create them 0644).
PASSWORDS="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"

running() { [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

# Every process of the session `setsid` gave the standalone. Airflow runs each task in a process
# group of its own (so it can signal a task's whole tree), inside that session: signalling only the
# standalone's group would leave a running task behind, still writing.
session_pids() { ps -o pid= -s "$1" 2>/dev/null | tr -d ' ' || true; }

stop() {
  if running; then
    local sid; sid="$(cat "$PIDFILE")"
    echo "stopping airflow standalone (session $sid) ..."
    kill -TERM -- "-$sid" 2>/dev/null || true  # its own group first: it stops its components in order
    for _ in $(seq 1 90); do kill -0 -- "-$sid" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$sid" 2>/dev/null || true
    local left; left="$(session_pids "$sid")"
    if [[ -n "$left" ]]; then
      echo "stopping $(wc -w <<<"$left") task process(es) left in the session: $(paste -sd ' ' <<<"$left")"
      # shellcheck disable=SC2086
      kill -TERM $left 2>/dev/null || true
      for _ in $(seq 1 15); do [[ -z "$(session_pids "$sid")" ]] && break; sleep 1; done
      left="$(session_pids "$sid")"
      # shellcheck disable=SC2086
      [[ -z "$left" ]] || kill -KILL $left 2>/dev/null || true
    fi
  fi
  rm -f "$PIDFILE"
  bash scripts/redis-local.sh stop
}

start() {
  if running; then echo "already running: $URL (log: $LOG)"; return 0; fi
  mkdir -p "$AIRFLOW_HOME"
  bash scripts/redis-local.sh start
  if ! compgen -G "$FTI_VAR_DIR/raw/online_retail/*.csv" >/dev/null; then
    fti data fetch && fti data generate store_sales
  fi
  python -c 'import sys; from pathlib import Path; from fti.credentials import private_file
for p in sys.argv[1:]: private_file(Path(p))' "$PASSWORDS" "$LOG"
  echo "starting airflow standalone (log: $LOG) ..."
  setsid airflow standalone >"$LOG" 2>&1 < /dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 180); do
    if curl -fsS "$URL/api/v2/monitor/health" >/dev/null 2>&1; then break; fi
    running || { echo "airflow standalone exited; last lines of $LOG:"; tail -30 "$LOG"; exit 1; }
    sleep 1
  done
  cat <<MSG

Airflow UI:   $URL
Log in as:    admin / $(python -c "import json,sys; print(json.load(open(sys.argv[1]))['admin'])" "$PASSWORDS" 2>/dev/null || echo "see $PASSWORDS")
DAGs:         feature_pipeline__<data set> -> training_pipeline__<data set> -> batch_inference__<data set>
              (data sets: $(ls specs | sed 's/.yaml//' | paste -sd ' '); trigger each one's three in this order)
Predictions:  fti predictions live -d online_retail; fti predictions lookup -d online_retail 'United Kingdom|85123A' 2011-12-10
MLflow UI:    make mlflow-ui   (http://127.0.0.1:5000)
Stop:         make stop
MSG
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running: $URL"; else echo "not running"; fi ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
