# shellcheck shell=bash
# Environment of the embedded default, sourced by the Makefile (and by you: `source scripts/env.sh`
# lets the `airflow` and `fti` commands of this project work in your shell).
FTI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export FTI_ROOT
export FTI_VAR_DIR="${FTI_VAR_DIR:-$FTI_ROOT/var}"
export PATH="$FTI_ROOT/.venv/bin:$PATH"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$FTI_VAR_DIR/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$FTI_ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$FTI_ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
# The LocalExecutor of `airflow standalone` runs at most this many tasks at once, inference chunks
# included (no pool caps them); Airflow's default, 32, forks 32 task workers on any machine.
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-$(( $(getconf _NPROCESSORS_ONLN) > 4 ? $(getconf _NPROCESSORS_ONLN) : 4 ))}"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-sqlite:///$AIRFLOW_HOME/airflow.db}"
export AIRFLOW__API__HOST="${AIRFLOW__API__HOST:-127.0.0.1}"
export AIRFLOW__API__PORT="${AIRFLOW__API__PORT:-8080}"
export AIRFLOW__API__BASE_URL="${AIRFLOW__API__BASE_URL:-http://$AIRFLOW__API__HOST:$AIRFLOW__API__PORT}"
# Airflow's own tests of lazily loaded task code: unit-test-like runs stay quiet.
export AIRFLOW__CORE__UNIT_TEST_MODE="${AIRFLOW__CORE__UNIT_TEST_MODE:-False}"
