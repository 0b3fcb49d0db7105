"""Package discovery under the project's own names: every folder with an __init__.py ships.

The repo keeps `recipes/` and `conf/` at the top; installed, they are `aiaas_recipes` and `aiaas_conf`
(generic top-level names would collide with other projects). setuptools' `find` cannot rename folders,
so the list is built here: a new recipe package is found without editing any list.
"""

from pathlib import Path

from setuptools import setup

ROOTS = {"aiaas_cli": "aiaas_cli", "aiaas_recipes": "recipes", "aiaas_conf": "conf"}


def packages() -> list[str]:
    found = []
    for name, folder in ROOTS.items():
        for init in sorted(Path(folder).rglob("__init__.py")):
            found.append(".".join((name, *init.parent.relative_to(folder).parts)))
    return found


setup(packages=packages(), package_dir=ROOTS)
