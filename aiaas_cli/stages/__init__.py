"""Lifecycle stages: each takes the config and the previous artifact and returns its own."""
