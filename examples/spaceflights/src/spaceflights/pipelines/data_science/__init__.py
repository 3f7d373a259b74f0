"""Splits the model input table, fits a linear regression and evaluates it."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
