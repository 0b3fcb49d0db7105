# Two entry points for a fresh clone: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.aiaas-installed
PYTEST_ARGS ?=

.PHONY: demo test lint format bench venv clean

venv: $(STAMP)

# pip (not uv/poetry): it takes the torch wheels already on this machine's disk.
# setuptools says on every editable install that it is one (a UserWarning): the only warning left, silenced.
$(STAMP): pyproject.toml setup.py constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	PYTHONWARNINGS=ignore::UserWarning $(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

demo: venv
	$(BIN)/aiaas pipeline image-cls

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# pytest exits 5 when it collects no test; that is not a failure of the suite.
test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

bench: venv
	$(BIN)/python -m benchmarks.bench_cli_and_training

clean:
	rm -rf .aiaas build dist *.egg-info
