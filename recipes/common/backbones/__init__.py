"""Pretrained weights: hub models (hub.py) and torchvision's (cache.py) through the libraries' own loaders and caches,
downloaded when online, from the caches only when offline; never read again for a network that a checkpoint
rebuilds (pretrained.py)."""
