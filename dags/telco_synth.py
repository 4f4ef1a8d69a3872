"""telco_synth: write a synthetic CESNET-TLS-Year22-format dataset (dev and demo only).

Manual. ``generate`` writes day files, stats files and ``manifest.json`` under the raw root
for ``params.start`` + ``params.days``; telco_ingest then reads them like the real dataset.
``generate`` writes to a local folder: in local mode that is ``TT_RAW``; on Kubernetes the raw
root must be a mounted volume (e.g. a PVC in a dev namespace), since it has no S3 output.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from telco_factory import DEFAULT_ARGS, go_task, settings

s = settings()

with DAG(
    dag_id="telco_synth",
    description="synthetic CESNET-format raw data for dev/demo",
    schedule=None,
    start_date=pendulum.datetime(2022, 1, 1, tz="UTC"),
    catchup=False,
    default_args={**DEFAULT_ARGS, "retries": 0},
    params={
        "start": Param("2022-01-03", type="string", format="date", description="first day"),
        "days": Param(7, type="integer", minimum=1, maximum=366),
        "flows_per_day": Param(20000, type="integer", minimum=1),
        "seed": Param(1, type="integer"),
        "compress": Param("xz", type="string", enum=["xz", "gz", "none"]),
    },
    tags=["telcotraffic", "dev"],
    doc_md=__doc__,
) as dag:
    generate = go_task(
        "generate",
        "generate",
        [
            f"--out={s.raw}",
            "--start={{ params.start }}",
            "--days={{ params.days }}",
            "--flows-per-day={{ params.flows_per_day }}",
            "--seed={{ params.seed }}",
            "--compress={{ params.compress }}",
        ],
    )
