#!/usr/bin/env bash
# Install everything the tests need and run the whole test suite (extra arguments go to pytest).
source "$(dirname "$0")/_venv.sh"
.venv/bin/python -m pip install -q -e . -r requirements/test.txt -r requirements/e2e.txt -r requirements/ship.txt -r requirements/mlflow.txt -r requirements/spark.txt -r requirements/docs.txt -r requirements/bench.txt
exec .venv/bin/python -m pytest "$@"
