"""A Kedro project whose spark and pandas nodes share datasets through transcoding."""

__version__ = "0.1.0"
