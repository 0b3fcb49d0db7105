"""Object detection: boxes and class labels (built-in: generated shapes scenes)."""
