#!/usr/bin/env bash
# Re-pin the Airflow version matrix: requirements/airflow-matrix/<cell>.in -> <cell>.txt, for
# Python 3.10 to 3.12 at once (uv's universal resolution). The versions already pinned are kept
# unless the .in file asks for others; delete a .txt file to resolve its cell afresh.
source "$(dirname "$0")/_venv.sh"
cd requirements/airflow-matrix
for source in *.in; do
    ../../.venv/bin/uv pip compile --quiet --universal --no-annotate --python-version 3.10 \
        "$source" -o "${source%.in}.txt"
done
