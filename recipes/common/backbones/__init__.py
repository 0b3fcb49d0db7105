"""Pretrained weights: found in the local caches only (nothing is downloaded), and never read again for a network
that a checkpoint rebuilds."""
