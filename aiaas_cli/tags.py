"""The MLflow tag names aiaas writes on a run: one place, so stages and readers never drift apart."""

RECIPE = "aiaas.recipe"
STAGE_PREFIX = "aiaas.stage."  # + stage name: "done" or "failed"
DATASET_DIR = "aiaas.dataset_dir"
DATASET_FINGERPRINT = "aiaas.dataset_fingerprint"
CHECKPOINT = "aiaas.checkpoint"
CHOSEN_MODEL = "aiaas.chosen_model"  # model=auto: the candidate whose checkpoint is the run's
ONNX = "aiaas.onnx"  # the run's served model (int8 when accepted), read by `aiaas predict run=<id>`
REGISTERED_MODEL = "aiaas.registered_model"
BENTO = "aiaas.bento"
OWNER = "aiaas.owner"  # "host pid start-time" of the process that holds the run: a dead one means it was killed
PARENT_TAG = "mlflow.parentRunId"  # MLflow's own: its UI nests a sweep's trial runs under the sweep's run
