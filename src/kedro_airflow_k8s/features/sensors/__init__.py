"""External sensors: the DAG waits for other DAGs (or their tasks). Keys in :mod:`.config`, the
SPEC section in :mod:`.feature`; ``runtime/sensors.py`` (``SensorsExtension``) makes the sensors."""
