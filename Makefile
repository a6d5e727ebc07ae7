# Two commands on a fresh machine: `make demo` and `make test`; each installs what it needs first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: install demo test test-slow bench bench-gpu gpu-check clean help

help:
	@echo "make install    venv with zkml[dev] + npm tools (snarkjs, circom2, solc-js, anvil) in node_modules + the native kernels"
	@echo "make demo       circom circuit and an ONNX model (digits CNN): set up, prove, verify"
	@echo "make test       the default test suite (< 15 min, no GPU)"
	@echo "make test-slow  the long tests (large circuits, snarkjs at 2^12+)"
	@echo "make bench      benchmarks against snarkjs and ezkl (installs zkml[halo2]), tables in bench/results/"
	@echo "make gpu-check  compile every GPU kernel for sm_90 (no GPU needed); H100 model in bench/results/gpu-model.md"
	@echo "make bench-gpu  GPU engine against the CPU engine (needs a GPU; says so and exits 0 without one)"

install: $(VENV)/.stamp-install node_modules/.stamp-install
	$(PY) -m zkml.engines.cpu.build_native

$(VENV)/.stamp-install: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $@

# ezkl, the benchmarks' Halo2 peer, only for `make bench`
$(VENV)/.stamp-halo2: $(VENV)/.stamp-install
	$(PIP) install --quiet -e '.[dev,halo2]'
	touch $@

node_modules/.stamp-install: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

demo: install
	$(VENV)/bin/zkml --version
	bash scripts/demo.sh

test: install
	$(PY) -m pytest -m "not slow" -q

test-slow: install
	$(PY) -m pytest -m slow -q

bench: install $(VENV)/.stamp-halo2
	$(PY) -m pytest bench/test_engine_bench.py -q --benchmark-columns=min,mean,rounds \
		--benchmark-json=bench/results/engine-micro.json
	$(PY) bench/bench_groth16.py
	$(PY) bench/bench_models.py
	$(PY) bench/bench_evm.py
	$(PY) bench/bench_batch_verify.py
	$(PY) bench/bench_scale.py
	$(PY) bench/bench_parse_errors.py
	$(PY) bench/bench_cli.py
	$(PY) bench/bench_verify_engine.py

gpu-check: install
	$(PY) scripts/gpu_check.py

bench-gpu: install
	$(PY) bench/gpu/bench_gpu.py

clean:
	rm -rf $(VENV) node_modules build demo-out
