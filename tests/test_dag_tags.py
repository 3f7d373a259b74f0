"""The DAG-tag contract: what render writes is what list-pipelines and run-once read back."""

from __future__ import annotations

from kedro_airflow_k8s import dag_tags


def test_written_tags_read_back() -> None:
    tags = dag_tags.generated_tags(
        version="1.2.3", commit="abc", experiment="exp", pipeline="data_science", env="prod"
    )
    assert tags == [
        "generated_with_kedro_airflow_k8s:1.2.3",
        "commit_sha:abc",
        "experiment_name:exp",
        "kedro_pipeline:data_science",
        "kedro_env:prod",
    ]
    assert dag_tags.origin([*tags, "team:x"]) == dag_tags.Origin(
        "1.2.3", "data_science", "prod", "abc"
    )
    assert dag_tags.is_generated(tags)


def test_a_dag_without_the_plugin_s_tag_has_no_origin() -> None:
    assert dag_tags.origin(["kedro_pipeline:x", "kedro_env:y"]) is None
    assert not dag_tags.is_generated(["generated_with_kedro_airflow_k8s"])  # no ':version'


def test_long_values_are_cut_with_a_hash_that_keeps_them_apart() -> None:
    long_a, long_b = "a" * 150 + "1", "a" * 150 + "2"
    tag_a, tag_b = dag_tags.tag(dag_tags.PIPELINE, long_a), dag_tags.tag(dag_tags.PIPELINE, long_b)
    assert len(tag_a) == len(tag_b) == dag_tags.MAX_LENGTH
    assert tag_a != tag_b
    assert dag_tags.value_of([tag_a], dag_tags.PIPELINE) == tag_a.removeprefix("kedro_pipeline:")


def test_build_tags_are_unique_and_fit() -> None:
    tags = {dag_tags.new_build_tag() for _ in range(50)}
    assert len(tags) == 50
    assert all(t.startswith("kedro_airflow_k8s_build:") and len(t) <= 100 for t in tags)
