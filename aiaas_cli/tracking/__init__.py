"""The only code that talks to MLflow. Stages use what is named here (`tracking.run`, `tracking.log_metrics`...).

connection.py  the store's URI, `configure`, MLflow's one client, a dead server told apart from a refusal
runs.py        the run a stage logs to: open/continue, params, metrics, tags, artifacts, close
journal.py     what a run could not send while its server was away
writes.py      the MLflow write for each kind of journal entry; sync.py replays them (`aiaas runs sync`)
search.py      look-ups across runs: the newest, the newest with a tag, a sweep's trials
downloads.py   local copies of a run's artifacts
registry.py    the exported ONNX model registered as a new version
"""

from aiaas_cli.tags import PARENT_TAG
from aiaas_cli.tracking.connection import configure, get_run, quiet_stdout, tracking_uri, unreachable
from aiaas_cli.tracking.downloads import download
from aiaas_cli.tracking.runs import (
    RUN_ENV,
    is_rank_zero,
    log_artifact,
    log_metric_rows,
    log_metrics,
    log_params,
    register_onnx,
    run,
    run_metrics,
    set_tags,
)

__all__ = [
    "PARENT_TAG", "RUN_ENV", "configure", "download", "get_run", "is_rank_zero", "log_artifact", "log_metric_rows",
    "log_metrics", "log_params", "quiet_stdout", "register_onnx", "run", "run_metrics", "set_tags", "tracking_uri",
    "unreachable",
]  # fmt: skip
