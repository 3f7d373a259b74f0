"""A custom spark operator factory: plain Airflow operators standing for a company's own."""

from kedro_airflow_k8s.spark import SparkCluster, SparkJob, SparkOperatorFactoryBase


class DemoFactory(SparkOperatorFactoryBase):
    @property
    def imports_statement(self) -> str:
        return "from airflow.providers.standard.operators.bash import BashOperator"

    def create_cluster_operator(self, cluster: SparkCluster) -> str:
        return self.call(
            "BashOperator",
            task_id=cluster.create_task_id,
            bash_command=(
                f"echo create {cluster.name} with init script {cluster.init_script_url}; true"
            ),
        )

    def delete_cluster_operator(self, cluster: SparkCluster) -> str:
        return self.call("BashOperator", task_id=cluster.delete_task_id, bash_command="echo delete")

    def submit_operator(self, job: SparkJob) -> str:
        return self.call(
            "BashOperator",
            task_id=job.task_id,
            bash_command="echo submit " + " ".join(str(a) for a in job.arguments[:7]),
        )
