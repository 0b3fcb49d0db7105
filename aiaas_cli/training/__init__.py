"""What training needs beyond the train stage itself.

resume_run.py   `resume=<run_id>|last`: continue a run from its last checkpoint, in the same MLflow run
loader_state.py mid-epoch resume points: the data loader's position saved with the checkpoint
callbacks.py    the Lightning callbacks and logger the train stage adds (metrics to MLflow, signals, pruning)
sweep.py        Optuna sweeps (`-m hydra/sweeper=optuna`), each trial a run nested under the sweep's run
"""
