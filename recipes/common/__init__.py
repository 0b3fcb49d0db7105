"""Code shared by recipes (classification metrics, the Lightning classifier)."""
