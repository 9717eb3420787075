# The README's commands:  `make demo` (build everything, run the main job on sample data)
#                          `make test` (every test: Rust, C under valgrind, C++ header, Python)
SHELL := /bin/bash
VENV   ?= .venv
PY     := $(VENV)/bin/python
LIB    := target/release/libferrokern.so
# valgrind cannot see mimalloc's allocations, so the C tests run against a build with the
# system allocator, where every Rust allocation is visible to memcheck.
VGLIB_DIR := target/valgrind/release
CFLAGS := -std=c11 -O1 -g -Wall -Wextra -Werror -Iinclude
VALGRIND := valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
            --errors-for-leak-kinds=definite,indirect --track-origins=yes

.PHONY: all build venv demo test test-rust test-header test-c test-python bench clean python-package
.PHONY: lint-rust

all: build

build:
	cargo build --release

$(PY): bindings/python/requirements-test.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r bindings/python/requirements-test.txt
	touch $(PY)

venv: $(PY)

demo: build venv
	PYTHONPATH=bindings/python $(PY) -m ferrokern demo

test: build venv test-rust test-header test-c test-python
test: lint-rust

test-rust:
	cargo test --release

# Format and lint gates (rustfmt.toml; clippy with every warning an error, tests included).
lint-rust:
	cargo fmt --check
	cargo clippy --all-targets --release -- -D warnings

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

test-python: venv
	PYTHONPATH=bindings/python $(PY) -m pytest -q bindings/python/tests

bench: build venv
	$(PY) -m pip install -q -r bench/requirements.txt
	cargo build --release --no-default-features --target-dir target/valgrind
	PYTHONPATH=bindings/python $(PY) bench/bench_text.py --nomimalloc-lib $(VGLIB_DIR)/libferrokern.so
	PYTHONPATH=bindings/python $(PY) bench/bench_arrays.py
	PYTHONPATH=bindings/python $(PY) bench/bench_report.py

python-package: build
	cp $(LIB) bindings/python/ferrokern/
	$(PY) -m pip wheel --no-deps -w target/wheels bindings/python

clean:
	cargo clean
	rm -rf $(VENV)
