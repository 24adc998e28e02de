# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3

.PHONY: demo test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/jac run examples/demo.jac

test:
	bash scripts/test

bench: $(VENV)/.installed
	$(VENV)/bin/python bench/run_all.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
