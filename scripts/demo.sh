#!/usr/bin/env bash
# Install the plugin and compile the bundled example project; show the DAG file, tasks and pods.
source "$(dirname "$0")/_venv.sh"
.venv/bin/python -m pip install -q -e . -r examples/spaceflights/requirements.txt
export KEDRO_LOGGING_CONFIG="$ROOT/scripts/quiet-logging.yml"
cd examples/spaceflights
echo "== kedro airflow-k8s compile   (bundled example: examples/spaceflights)"
../../.venv/bin/kedro airflow-k8s compile
dag_file="$(ls dag/*.py | head -n 1)"
echo
echo "== what every pod gets: SPEC['pod'] and the resource profiles in $dag_file"
sed -n "/^    'pod': {/,/^    'task_groups'/p" "$dag_file" | sed '$d'
echo
echo "== the file ends with: $(tail -n 1 "$dag_file")   ($(wc -l < "$dag_file") lines in all)"
