#!/usr/bin/env bash
# Install the plugin and compile the bundled example project; show the DAG file, tasks and pods.
source "$(dirname "$0")/_venv.sh"
.venv/bin/python -m pip install -q -e . -r examples/spaceflights/requirements.txt
cd examples/spaceflights
echo "== kedro airflow-k8s compile (bundled example: examples/spaceflights)"
../../.venv/bin/kedro airflow-k8s compile --explain table 2>/dev/null
dag_file="$(ls dag/*.py | head -n 1)"
echo
echo "== generated DAG file: examples/spaceflights/$dag_file ($(wc -l < "$dag_file") lines)"
echo "   (the embedded builder, then SPEC: what every pod gets and the tasks)"
sed -n '/^SPEC = {/,/^    .tasks.: \[/p' "$dag_file"
