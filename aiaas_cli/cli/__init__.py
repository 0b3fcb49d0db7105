"""The `aiaas` command line (the console script `aiaas = aiaas_cli.cli:main`). It imports nothing heavy.

commands.py  the Typer app: one short function per command, each handing over to `lifecycle` or a stage
predict.py   `aiaas predict` (its many options)
common.py    what every command shares: one-line errors, option types, the config for a command line, output
runs.py      `aiaas runs`, `runs sync`, `runs compare`; run_list.py builds their rows and tables
gallery.py   `aiaas gallery enroll|list|remove` (the work is in stages/gallery.py)
"""

from aiaas_cli.cli.commands import app, main

__all__ = ["app", "main"]
