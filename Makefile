# The README's commands:  `make demo` (build everything, run the main job on sample data)
#                          `make test` (every test: lint, Rust, C under valgrind, C++, the Python
#                                       wheel and sdist, Node)
SHELL := /bin/bash
VENV   ?= .venv
PY     := $(VENV)/bin/python
# `make demo` gets its own small venv: only what the demo needs (requirements-demo.txt).
DEMO_VENV ?= .venv-demo
DEMO_PY   := $(DEMO_VENV)/bin/python
LIB    := target/release/libferrokern.so
# valgrind cannot see mimalloc's allocations, so the C tests run against a build with the
# system allocator, where every Rust allocation is visible to memcheck.
VGLIB_DIR := target/valgrind/release
CFLAGS := -std=c11 -O1 -g -Wall -Wextra -Werror -Iinclude
VALGRIND := valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
            --errors-for-leak-kinds=definite,indirect --track-origins=yes

.PHONY: all build venv demo test test-rust test-header test-c test-python test-python-dev lint-python \
        test-node test-ffi-layout check-ffi-snippets wheel sdist test-sdist python-package bench clean

all: build

build:
	cargo build --release

$(PY): bindings/python/requirements-test.txt bindings/python/requirements-demo.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r bindings/python/requirements-test.txt
	touch $(PY)

venv: $(PY)

$(DEMO_PY): bindings/python/requirements-demo.txt
	python3 -m venv $(DEMO_VENV)
	$(DEMO_PY) -m pip install -q --upgrade pip
	$(DEMO_PY) -m pip install -q -r bindings/python/requirements-demo.txt
	touch $(DEMO_PY)

demo: build $(DEMO_PY)
	PYTHONPATH=bindings/python $(DEMO_PY) -m ferrokern demo

test: build venv lint-python test-rust test-header test-c test-python test-sdist test-node test-ffi-layout

test-rust:
	cargo test --release

# The committed header must be what the build generates (build.rs rewrote it just now).
test-header: build
	@git diff --exit-code -- include/ferrokern.h bindings/python/ferrokern/_cdef.h \
	  || { echo "include/ferrokern.h or _cdef.h is stale: commit the regenerated files"; exit 1; }
	g++ -std=c++11 -Wall -Wextra -Werror -Iinclude -o target/test_header_cpp tests/c/header_cpp.cpp -L$(dir $(LIB)) -lferrokern
	LD_LIBRARY_PATH=$(dir $(LIB)) ./target/test_header_cpp

test-c:
	cargo build --release --no-default-features --target-dir target/valgrind
	@set -e; for src in tests/c/*.c; do \
	  bin=target/$$(basename $${src%.c}); \
	  cc $(CFLAGS) -o $$bin $$src -L$(VGLIB_DIR) -lferrokern -lm; \
	  echo "== $$bin (valgrind memcheck)"; \
	  LD_LIBRARY_PATH=$(VGLIB_DIR) FERROKERN_THREADS=2 $(VALGRIND) $$bin; \
	done

# The Node.js example binding (koffi, pinned in bindings/node/package-lock.json) against the
# Python reference's results and the C struct layouts.
test-node: build
	cd bindings/node && npm ci --no-audit --no-fund && node --test

# docs/ffi.md's struct layout table is what the C compiler measures for include/ferrokern.h.
test-ffi-layout:
	python3 tools/ffi_layout.py --check

# The Go (cgo) and JNA snippets of docs/ffi.md, compiled and run as written; needs go and
# javac + JNA (Debian: golang-go default-jdk-headless libjna-java), so not part of `test`.
check-ffi-snippets: build
	python3 tools/check_ffi_snippets.py

# Formatting, lint and strict typing of the Python package (config: bindings/python/ruff.toml).
lint-python: venv
	$(VENV)/bin/ruff format --check bindings/python
	$(VENV)/bin/ruff check bindings/python
	$(VENV)/bin/mypy --strict bindings/python/ferrokern

# --- Python wheel and sdist (maturin) -------------------------------------------------------
# The wheel is what users install: built by maturin with zig as the linker so that it runs on
# glibc >= 2.17 (manylinux_2_17, which `auditwheel show` must confirm), stripped, tagged
# py3-none-<platform> (cffi ABI mode: no CPython ABI). `make test` runs the whole pytest suite
# against it, installed into a fresh venv, from outside the checkout, with no Rust on PATH.
BUILD_VENV := target/build-venv
WHEEL_DIR  := target/wheels
WHEEL_VENV := target/wheel-venv
MANYLINUX  ?= manylinux_2_17
# The PATH maturin runs with: the build venv first (it finds zig as `python -m ziglang`).
BUILD_PATH := $(abspath $(BUILD_VENV))/bin:$(PATH)
# Tests of the installed package run with only the venv and the system on PATH: no cargo.
TEST_PATH  := $(abspath $(WHEEL_VENV))/bin:/usr/local/bin:/usr/bin:/bin

$(BUILD_VENV)/.installed: bindings/python/requirements-build.txt
	python3 -m venv $(BUILD_VENV)
	$(BUILD_VENV)/bin/pip install -q -r $<
	touch $@

wheel: $(BUILD_VENV)/.installed
	rm -f $(WHEEL_DIR)/ferrokern-*.whl
	cd bindings/python && PATH=$(BUILD_PATH) maturin build --release --zig \
	  --compatibility $(MANYLINUX) -o $(abspath $(WHEEL_DIR))
	$(BUILD_VENV)/bin/python tools/check_wheel.py --policy $(MANYLINUX) \
	  --auditwheel $(BUILD_VENV)/bin/auditwheel $(WHEEL_DIR)/ferrokern-*.whl

# The old name of `make wheel`.
python-package: wheel

sdist: $(BUILD_VENV)/.installed
	rm -f $(WHEEL_DIR)/ferrokern-*.tar.gz
	cd bindings/python && PATH=$(BUILD_PATH) maturin sdist -o $(abspath $(WHEEL_DIR))

test-python: wheel
	rm -rf $(WHEEL_VENV)
	python3 -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/pip install -q $(WHEEL_DIR)/ferrokern-*.whl -r bindings/python/requirements-test.txt
	cd $$(mktemp -d) && env -u PYTHONPATH -u FERROKERN_LIBRARY PATH=$(TEST_PATH) FERROKERN_TEST_INSTALLED=1 \
	  $(abspath $(WHEEL_VENV))/bin/python -m pytest -q -p no:cacheprovider $(CURDIR)/bindings/python/tests

# The same suite against the checkout (PYTHONPATH, target/release): the quick loop while developing.
test-python-dev: build venv
	PYTHONPATH=bindings/python $(PY) -m pytest -q bindings/python/tests

# The sdist builds from source with cargo (into target/sdist-build, so reruns are incremental),
# and, without a Rust toolchain, fails at install time with maturin's message instead of
# installing a package that cannot import.
test-sdist: sdist
	$(BUILD_VENV)/bin/python tools/check_sdist.py --sdist $(WHEEL_DIR)/ferrokern-*.tar.gz \
	  --target-dir $(abspath target/sdist-build) --work target/sdist-test

bench: build venv
	$(PY) -m pip install -q -r bench/requirements.txt
	cargo build --release --no-default-features --target-dir target/valgrind
	PYTHONPATH=bindings/python $(PY) bench/bench_text.py --nomimalloc-lib $(VGLIB_DIR)/libferrokern.so
	PYTHONPATH=bindings/python $(PY) bench/bench_tiny.py
	PYTHONPATH=bindings/python $(PY) bench/bench_arrays.py
	PYTHONPATH=bindings/python $(PY) bench/bench_report.py

clean:
	cargo clean
	rm -rf $(VENV) $(DEMO_VENV) bindings/python/ferrokern/_lib
