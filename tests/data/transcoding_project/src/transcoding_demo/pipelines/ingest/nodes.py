"""Preprocessing with pandas and with pyspark (pyspark is only needed when the nodes run)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def preprocess_companies(companies: pd.DataFrame) -> pd.DataFrame:
    return companies.dropna()


def preprocess_reviews(reviews: DataFrame) -> DataFrame:
    return reviews.dropna()


def join_tables(companies: DataFrame, reviews: DataFrame) -> DataFrame:
    return reviews.join(companies, on="company_id")
