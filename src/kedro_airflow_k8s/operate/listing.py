"""list-pipelines: the DAGs in Airflow that this plugin generated, as a table."""

from __future__ import annotations

from dataclasses import dataclass

from kedro_airflow_k8s import dag_tags
from kedro_airflow_k8s.airflow_api import AirflowApi


@dataclass(frozen=True)
class PipelineRow:
    dag_id: str
    pipeline: str
    env: str
    paused: bool
    last_run: str
    commit: str


def pipeline_rows(api: AirflowApi) -> list[PipelineRow]:
    """Every DAG made by the plugin, with the facts its tags and last run give."""
    rows = []
    for dag in api.iter_dags():
        origin = dag_tags.origin(dag.tags)
        if origin is None:
            continue
        last = api.last_run(dag.dag_id)
        rows.append(
            PipelineRow(
                dag_id=dag.dag_id,
                pipeline=origin.pipeline or "-",
                env=origin.env or "-",
                paused=dag.is_paused,
                last_run=(last.state or "-") if last is not None else "-",
                commit=(origin.commit or "-")[:12],
            )
        )
    return sorted(rows, key=lambda r: r.dag_id)


def format_rows(rows: list[PipelineRow]) -> str:
    header = ("DAG ID", "PIPELINE", "ENV", "PAUSED", "LAST RUN", "COMMIT")
    cells = [header] + [
        (r.dag_id, r.pipeline, r.env, "yes" if r.paused else "no", r.last_run, r.commit)
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
