"""External sensors: the DAG waits for other DAGs (or their tasks). Keys in :mod:`.config`, the
SPEC section in :mod:`.feature`; the DAG builder (``runtime/dag_builder.py``) makes the sensors."""
