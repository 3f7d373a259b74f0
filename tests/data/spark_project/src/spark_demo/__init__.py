"""A tiny Kedro project with a spark group between two pandas nodes."""
