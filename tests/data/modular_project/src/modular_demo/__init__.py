"""A Kedro project with a modelling pipeline reused under two namespaces."""

__version__ = "0.1.0"
