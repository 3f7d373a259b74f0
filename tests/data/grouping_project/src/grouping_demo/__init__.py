"""A tiny Kedro project whose tags, namespaces and spark nodes exercise task planning."""
