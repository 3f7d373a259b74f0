"""The files a DAG's spark jobs read, made at compile time and uploaded before the DAG: the
project archive and cluster init script (``dataproc``, ``custom``) and one run script per spark
group (unless ``k8s`` names a run script in the image)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kedro_airflow_k8s import __version__
from kedro_airflow_k8s.features.api import Artifacts
from kedro_airflow_k8s.features.spark.project_files import project_archive, read_user_script
from kedro_airflow_k8s.features.spark.scripts import init_script_text, run_script_text
from kedro_airflow_k8s.features.spark.spec import (
    SparkArtifactUrls,
    default_project_home,
    spark_tasks,
)
from kedro_airflow_k8s.names import artifact_name
from kedro_airflow_k8s.render.dag import runtime_source
from kedro_airflow_k8s.ship import parse_destination

if TYPE_CHECKING:
    from kedro_airflow_k8s.plan.model import TaskPlan
    from kedro_airflow_k8s.project import LoadedProject


@dataclass(frozen=True)
class SparkArtifacts(Artifacts):
    """The spark jobs' files and where the cluster and the jobs read them."""

    urls: SparkArtifactUrls | None = None


def build_spark_artifacts(loaded: LoadedProject, plan: TaskPlan) -> SparkArtifacts | None:
    """The init script, project archive and per-group run scripts of the plan's spark groups,
    named ``<package>-<commit>-<content hash>...`` so versions never overwrite each other.

    None when spark groups run as pods, or (``k8s``) when the run script is in the image."""
    snapshot, run_config = loaded.snapshot, loaded.config.run_config
    spark = run_config.spark
    if spark is None:
        return None
    tasks = spark_tasks(plan)
    if not tasks:
        return None
    home = spark.project_home or default_project_home(snapshot.package_name)
    if spark.type == "k8s" and spark.run_script:
        return SparkArtifacts(destination="", urls=SparkArtifactUrls(home))
    assert spark.artifacts_path  # the config requires it for every other case
    project = Path(snapshot.project_path)
    commit = re.sub(r"[^A-Za-z0-9]", "", snapshot.commit_sha or "")[:12] or "nocommit"
    files: dict[str, bytes] = {}
    user_init = read_user_script(project, spark.user_init_path, "run_config.spark.user_init_path")
    user_post = read_user_script(
        project, spark.user_post_init_path, "run_config.spark.user_post_init_path"
    )
    # dataproc and custom start a cluster from the archive and init script; k8s has an image
    cluster_files = spark.type != "k8s"
    archive = project_archive(project, snapshot.env) if cluster_files else b""
    content = hashlib.sha256()
    for part in (archive, __version__, home, spark.runner, user_init or "", user_post or ""):
        content.update(part if isinstance(part, bytes) else part.encode())
        content.update(b"\0")
    prefix = f"{snapshot.package_name}-{commit}-{content.hexdigest()[:10]}"
    destination = parse_destination(spark.artifacts_path)
    urls: dict[str, str] = {}
    if cluster_files:
        archive_name, init_name = f"{prefix}.tar.gz", f"{prefix}-init.sh"
        files[archive_name] = archive
        urls["archive"] = destination.url(archive_name)
        init = init_script_text(
            project_name=snapshot.project_name,
            commit=snapshot.commit_sha or "unknown",
            project_home=home,
            archive_url=urls["archive"],
            user_init=user_init,
            user_post_init=user_post,
        )
        files[init_name] = init.encode()
        urls["init"] = destination.url(init_name)
    run_scripts: dict[str, str] = {}
    for task in tasks:
        name = f"{prefix}-{artifact_name(task.full_task_id)}.py"
        text = run_script_text(
            runtime_source("spark_run"),
            project_name=snapshot.project_name,
            commit=snapshot.commit_sha or "unknown",
            project_home=home,
            env=snapshot.env,
            pipeline=plan.pipeline,
            nodes=task.nodes,
            runner=spark.runner,
        )
        files[name] = text.encode()
        run_scripts[task.full_task_id] = destination.url(name)
    return SparkArtifacts(
        destination=spark.artifacts_path,
        files=files,
        urls=SparkArtifactUrls(
            project_home=home,
            init_script=urls.get("init"),
            project_archive=urls.get("archive"),
            run_scripts=run_scripts,
        ),
    )
