#!/usr/bin/env bash
# The newcomer's path, on the bundled example project (examples/spaceflights):
#   1. install the plugin, a local Airflow 3 and the example's dependencies into .venv;
#   2. compile the example: the Kubernetes DAG users deploy (tasks, pods, the SPEC every pod gets);
#   3. start `kedro airflow-k8s dev` (Airflow 3 on 127.0.0.1, a free port) in the background and
#      wait for it, with a time limit;
#   4. reach it with the plugin's own commands;
#   5. run the example through that Airflow: `run-once` in the Kedro environment `airflow_local`
#      (conf/airflow_local sets run_config.execution: local) writes the local-execution DAG into
#      the DAG folder of `dev`, triggers it and follows its tasks to the end; then show what the
#      pipeline wrote (data/02_* to data/08_*, the models' metrics);
#   6. stop Airflow on the way out, whatever happened (trap), leaving nothing running.
# Exit code: 0 when the run succeeded, else non-zero (run-once's: 1 failed run, 3 time out).
# Environment:
#   DEMO_READY_TIMEOUT  seconds to wait for Airflow to be ready (default 300);
#   DEMO_RUN_MINUTES    minutes run-once follows the run (default 5);
#   DEMO_SKIP_INSTALL=1 use .venv as it is (the plugin, Airflow and the example's needs already
#                       installed, e.g. .venv a link to such an environment, the plugin's code
#                       taken from this checkout through PYTHONPATH=<checkout>/src): no pip.
source "$(dirname "$0")/_venv.sh"
started=$SECONDS

if [ "${DEMO_SKIP_INSTALL:-}" = "1" ]; then
    echo "== DEMO_SKIP_INSTALL=1: using .venv as it is ($(.venv/bin/python -c 'import sys; print(sys.prefix)'))"
else
    echo "== installing the plugin with a local Airflow 3 (the [local] extra) and the example's needs"
    .venv/bin/python -m pip install -q -e '.[local]' -r requirements/local.txt \
        -r examples/spaceflights/requirements.txt
fi
echo "   installed in $((SECONDS - started)) s"
export KEDRO_LOGGING_CONFIG="$ROOT/scripts/quiet-logging.yml"
KEDRO="$ROOT/.venv/bin/kedro"
cd examples/spaceflights

echo
echo "== kedro airflow-k8s compile   (bundled example: examples/spaceflights)"
"$KEDRO" airflow-k8s compile
dag_file="$(ls dag/*.py | head -n 1)"
echo
echo "== what every pod gets: SPEC['pod'] and the resource profiles in $dag_file"
sed -n "/^    'pod': {/,/^    'task_groups'/p" "$dag_file" | sed '$d'
echo
echo "== the file ends with: $(tail -n 1 "$dag_file")   ($(wc -l < "$dag_file") lines in all)"

# --- a local Airflow 3 for the example --------------------------------------------------------
port="$("$ROOT/.venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export KEDRO_CONFIG_AIRFLOW_HOST="http://127.0.0.1:$port"  # the example's host reads it
dev_log="$(mktemp "${TMPDIR:-/tmp}/kedro-airflow-k8s-dev.XXXXXX")"
dev_pid=""

stop_airflow() {
    if [ -n "$dev_pid" ] && kill -0 "$dev_pid" 2>/dev/null; then
        echo
        echo "== stopping Airflow"
        kill -TERM "$dev_pid" 2>/dev/null || true
        for _ in $(seq 1 600); do  # 60 s at most; `dev` itself stops within about 25 s
            kill -0 "$dev_pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$dev_pid" 2>/dev/null; then
            echo "Airflow did not stop within 60 s: killing it" >&2
            kill -KILL "$dev_pid" 2>/dev/null || true
        fi
        wait "$dev_pid" 2>/dev/null || true
        grep -E "^Airflow stopped" "$dev_log" || true
    fi
    rm -f "$dev_log"
    echo "== demo done in $((SECONDS - started)) s"
}
trap stop_airflow EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The example's run_config.env_vars exports the Airflow Variable AWS_DEFAULT_REGION to every
# task: Airflow reads AIRFLOW_VAR_<NAME> from the environment it starts in.
export AIRFLOW_VAR_AWS_DEFAULT_REGION="${AIRFLOW_VAR_AWS_DEFAULT_REGION:-eu-central-1}"

echo
echo "== kedro airflow-k8s dev   (Airflow 3 on $KEDRO_CONFIG_AIRFLOW_HOST, in the background)"
"$KEDRO" airflow-k8s dev >"$dev_log" 2>&1 &
dev_pid=$!
ready_timeout="${DEMO_READY_TIMEOUT:-300}"
waited_from=$SECONDS
until grep -q "is ready at" "$dev_log"; do
    if ! kill -0 "$dev_pid" 2>/dev/null; then
        echo "Airflow did not start; its output:" >&2
        tail -n 30 "$dev_log" >&2
        exit 1
    fi
    if [ $((SECONDS - waited_from)) -ge "$ready_timeout" ]; then
        echo "Airflow was not ready within $ready_timeout s; its output:" >&2
        tail -n 30 "$dev_log" >&2
        exit 1
    fi
    sleep 1
done
sed -n '/is ready at/,$p' "$dev_log"
export AIRFLOW_USERNAME=admin
AIRFLOW_PASSWORD="$("$ROOT/.venv/bin/python" -c 'import json; print(json.load(open(".airflow/passwords.json"))["admin"])')"
export AIRFLOW_PASSWORD

echo
echo "== kedro airflow-k8s list-pipelines   (the plugin's client, logged in to the local Airflow)"
"$KEDRO" airflow-k8s list-pipelines

echo
echo "== kedro airflow-k8s -e airflow_local run-once --wait-for-completion ${DEMO_RUN_MINUTES:-5}"
echo "   (conf/airflow_local: execution: local; the DAG goes to the DAG folder of dev, each task"
echo "    runs kedro run on the Airflow worker; base's Kubernetes-only settings are ignored)"
run_started=$SECONDS
"$KEDRO" airflow-k8s -e airflow_local run-once --wait-for-completion "${DEMO_RUN_MINUTES:-5}"
echo "   the run took $((SECONDS - run_started)) s from compile to success"

echo
echo "== what the pipeline wrote (examples/spaceflights/data)"
find data -path 'data/0[2-8]_*' -type f ! -name .gitkeep -printf '%10s bytes  %p\n' | sort -k3
for metrics in data/08_reporting/*/metrics.json; do
    "$ROOT/.venv/bin/python" -c 'import json, sys
print(sys.argv[1] + ":", json.dumps(json.load(open(sys.argv[1]))))' "$metrics"
done
