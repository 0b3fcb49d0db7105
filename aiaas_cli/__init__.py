"""aiaas: preprocess → train → evaluate → export → package → push → serve, from one CLI."""

__version__ = "0.1.0"
