"""Semantic segmentation (image-seg): image + mask pairs to a per-pixel classifier."""
