"""The catalog line the in-memory crossing error suggests is valid YAML for any dataset name, and
Kedro's OmegaConf loader reads it back as the entry it stands for (the real paste into a project
is in tests/test_catalog_hint_paste.py)."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st
from omegaconf import OmegaConf

from kedro_airflow_k8s.plan.errors import CATCH_ALL, HINT_FOLDER, catalog_entry_hint

NAMES = st.text(
    st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40
) | st.sampled_from(["companies", "a.b@pandas", "1e3", "yes", "null", "x: y", "#x", "a,b", "${x}"])


def _read_by_kedro(text: str) -> dict[str, object]:
    """As Kedro's OmegaConfigLoader reads a catalog file: OmegaConf, interpolations resolved."""
    container = OmegaConf.to_container(OmegaConf.create(text), resolve=True)
    assert isinstance(container, dict)
    return container  # type: ignore[return-value]


@given(NAMES)
def test_the_hint_is_one_line_read_back_as_the_entry_it_names(name: str) -> None:
    assume(name != "existing")
    hint = catalog_entry_hint(name)
    assert "\n" not in hint
    key = name if "{" not in name else CATCH_ALL  # a name with braces would be a pattern
    expected = {key: {"type": "pickle.PickleDataset", "filepath": f"{HINT_FOLDER}/{key}.pickle"}}
    # pasted below existing entries, as a user adds it to catalog.yml
    document = "existing:\n  type: pandas.CSVDataset\n  filepath: data/x.csv\n" + hint + "\n"
    read = _read_by_kedro(document)
    assert read == {
        "existing": {"type": "pandas.CSVDataset", "filepath": "data/x.csv"},
        **expected,
    }


def test_several_datasets_get_the_catch_all_factory() -> None:
    assert catalog_entry_hint(None) == (
        "'{default}': {type: pickle.PickleDataset, filepath: "
        '"data/02_intermediate/{default}.pickle"}'
    )
