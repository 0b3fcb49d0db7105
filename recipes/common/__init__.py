"""Code shared by recipes, in sub-packages named for what they are: data, vision, audio, text, backbones; the
LightningModule base (module.py), parity and the evaluation report's model-vs-baselines table (report.py)."""
