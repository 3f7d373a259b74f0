"""Node functions of the data_processing pipeline."""

import pandas as pd


def _is_true(column: pd.Series) -> pd.Series:
    """Turn a ``t``/``f`` text column into booleans."""
    return column == "t"


def _parse_percentage(column: pd.Series) -> pd.Series:
    """Turn ``"87%"`` into ``0.87`` (empty cells become NaN)."""
    return pd.to_numeric(column.str.rstrip("%"), errors="coerce").astype("float64") / 100


def _parse_money(column: pd.Series) -> pd.Series:
    """Turn ``"$1,234.5"`` into ``1234.5``."""
    cleaned = column.str.replace("$", "", regex=False).str.replace(",", "", regex=False)
    return pd.to_numeric(cleaned, errors="coerce").astype("float64")


def preprocess_companies(companies: pd.DataFrame) -> pd.DataFrame:
    """Clean the raw companies table.

    Args:
        companies: Raw companies data.
    Returns:
        Companies with a boolean ``iata_approved`` and a numeric ``company_rating``.
    """
    companies = companies.copy()
    companies["iata_approved"] = _is_true(companies["iata_approved"])
    companies["company_rating"] = _parse_percentage(companies["company_rating"])
    return companies


def preprocess_shuttles(shuttles: pd.DataFrame) -> pd.DataFrame:
    """Clean the raw shuttles table.

    Args:
        shuttles: Raw shuttles data.
    Returns:
        Shuttles with boolean check flags and a numeric ``price``.
    """
    shuttles = shuttles.copy()
    shuttles["d_check_complete"] = _is_true(shuttles["d_check_complete"])
    shuttles["moon_clearance_complete"] = _is_true(shuttles["moon_clearance_complete"])
    shuttles["price"] = _parse_money(shuttles["price"])
    return shuttles


def create_model_input_table(
    shuttles: pd.DataFrame, companies: pd.DataFrame, reviews: pd.DataFrame
) -> pd.DataFrame:
    """Join shuttles, companies and reviews into one table for modelling.

    Args:
        shuttles: Preprocessed shuttles.
        companies: Preprocessed companies.
        reviews: Raw reviews.
    Returns:
        One row per shuttle; rows with missing values are dropped.
    """
    with_reviews = shuttles.merge(reviews, left_on="id", right_on="shuttle_id")
    table = with_reviews.merge(
        companies, left_on="company_id", right_on="id", suffixes=("", "_company")
    )
    table = table.drop(columns=["shuttle_id", "id_company"])
    return table.dropna().reset_index(drop=True)
