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

.PHONY: all build venv demo test test-rust lint-rust test-header test-c test-asan test-fuzz test-python test-python-dev fuzz-python lint-python \
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

test: build venv lint-python lint-rust test-rust test-header test-c test-asan test-fuzz test-cpp-wrapper test-install \
      test-python test-sdist test-node test-ffi-layout

test-rust:
	cargo test --release

# Format and lint gates (rustfmt.toml; clippy with every warning an error, tests included).
lint-rust:
	cargo fmt --check
	cargo clippy --all-targets --release -- -D warnings
	@# test-fuzz builds fuzz/ with --locked: a dependency added to the crate must reach
	@# fuzz/Cargo.lock too (`cd fuzz && cargo update -w`), which this catches in seconds.
	cd fuzz && cargo metadata --locked --format-version 1 > ../target/fuzz-metadata.json

# The committed header must be what the build generates (build.rs rewrote it just now).
test-header: build
	@git diff --exit-code -- include/ferrokern.h bindings/python/ferrokern/_cdef.h \
	  || { echo "include/ferrokern.h or _cdef.h is stale: commit the regenerated files"; exit 1; }
	g++ -std=c++11 -Wall -Wextra -Werror -Iinclude -o target/test_header_cpp tests/c/header_cpp.cpp -L$(dir $(LIB)) -lferrokern
	$(call fk_soname_link,$(dir $(LIB)))
	LD_LIBRARY_PATH=$(dir $(LIB)) ./target/test_header_cpp

test-c:
	cargo build --release --no-default-features --target-dir target/valgrind
	$(call fk_soname_link,$(VGLIB_DIR))
	@set -e; for src in tests/c/*.c; do \
	  bin=target/$$(basename $${src%.c}); \
	  cc $(CFLAGS) -pthread -o $$bin $$src -L$(VGLIB_DIR) -lferrokern -lm; \
	  echo "== $$bin (valgrind memcheck)"; \
	  LD_LIBRARY_PATH=$(VGLIB_DIR) FERROKERN_THREADS=2 $(VALGRIND) $$bin; \
	done

# The C tests again under AddressSanitizer + UndefinedBehaviorSanitizer (gcc or clang on the
# stable toolchain), linked to the normal release library. Only the C side is instrumented:
# the Rust side is covered by valgrind (test-c), the fuzz targets (test-fuzz) and Rust's own
# checks (safe code; every `unsafe` documented). See docs/guarantees.md.
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
test-asan: build
	$(call fk_soname_link,$(dir $(LIB)))
	@set -e; for src in tests/c/*.c; do \
	  bin=target/asan_$$(basename $${src%.c}); \
	  cc $(CFLAGS) $(ASAN_FLAGS) -pthread -o $$bin $$src -L$(dir $(LIB)) -lferrokern -lm; \
	  echo "== $$bin (ASan + UBSan)"; \
	  LD_LIBRARY_PATH=$(dir $(LIB)) FERROKERN_THREADS=2 ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $$bin; \
	done

# Coverage-guided fuzzing (libFuzzer via libfuzzer-sys, stable toolchain: see fuzz/README.md).
# Each target first replays its committed corpus (fuzz/corpus/<target>; any failure fails the
# test), then fuzzes for FUZZ_SECONDS; new inputs go to target/fuzz/new/<target>, a crash to
# target/fuzz/artifacts/<target>/. `make test-fuzz FUZZ_SECONDS=3600` runs longer.
FUZZ_TARGETS := jsonl_field report_from_json reader texts_batch findall
FUZZ_SECONDS ?= 8
FUZZ_HOST = $(shell rustc -vV | sed -n 's/^host: //p')
FUZZ_RUSTFLAGS := --cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares
test-fuzz:
	cd fuzz && RUSTFLAGS="$(FUZZ_RUSTFLAGS)" cargo build --release --locked --target $(FUZZ_HOST) --target-dir ../target/fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p target/fuzz/new/$$t target/fuzz/artifacts/$$t; \
	  echo "== fuzz $$t: replay fuzz/corpus/$$t, then fuzz $(FUZZ_SECONDS) s"; \
	  if ! target/fuzz/$(FUZZ_HOST)/release/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=20 -rss_limit_mb=4096 \
	      -max_len=4096 -artifact_prefix=target/fuzz/artifacts/$$t/ target/fuzz/new/$$t fuzz/corpus/$$t \
	      > target/fuzz/$$t.log 2>&1; then tail -n 60 target/fuzz/$$t.log; exit 1; fi; \
	  grep -hE '^Done [0-9]+ runs' target/fuzz/$$t.log; \
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

# The random hunt for new counterexamples (CI runs a fixed, derandomized set): the pattern
# fuzzer and the other property tests with fresh draws. `make fuzz-python FUZZ_EXAMPLES=20000`
# searches longer; add what it finds as an @example.
FUZZ_EXAMPLES ?= 3000
fuzz-python: build venv
	PYTHONPATH=bindings/python HYPOTHESIS_PROFILE=explore FERROKERN_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
	  $(PY) -m pytest -q -p no:cacheprovider bindings/python/tests/test_pyre.py -k fuzz

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

# ---------------------------------------------------------------------------------------
# C and C++ install (docs/c.md): `make install PREFIX=/usr/local` (DESTDIR honoured),
# `make uninstall`; tested by test-install, the C++ wrapper by test-cpp-wrapper.
# ---------------------------------------------------------------------------------------
.PHONY: c-package install uninstall test-install test-cpp-wrapper
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
FK_CMAKEDIR = $(LIBDIR)/cmake/ferrokern
FK_STAGE   := target/c-install
# One source of truth each: the version is Cargo.toml's; the ABI version is the header's
# FK_ABI_VERSION, which cbindgen renders from the Rust constant and from which build.rs sets
# the SONAME. Expanded when a recipe runs, i.e. after the build has regenerated the header.
FK_VERSION = $(shell sed -n '/^\[package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml)
FK_ABI     = $(shell awk '$$2 == "FK_ABI_VERSION" {print $$3}' include/ferrokern.h)
FK_SONAME  = libferrokern.so.$(FK_ABI)
# Programs linked with -lferrokern record the SONAME (libferrokern.so.N) and load that
# name at run time; cargo writes only libferrokern.so, so build trees get the link too.
fk_soname_link = ln -sfn libferrokern.so $(1)/$(FK_SONAME)

# Everything `install` copies that is not a plain build output, staged in target/c-install.
# Libs.private is what rustc reports a static link needs (--print native-static-libs). rustc
# says it only while linking a staticlib, and extra rustc flags in target/release would make
# the next `cargo build --release` rebuild the crate, so a staticlib is built in its own
# target dir (dev profile without debug info: the list does not depend on optimisation).
# That costs one build the first time; after that cargo replays the note in a second.
# The installed archive loses its debug sections and LLVM bitcode (.llvmbc, only rustc's LTO
# reads it): 48 MB -> 16 MB, and a C linker ignores both.
c-package: build
	@set -euo pipefail; mkdir -p $(FK_STAGE); \
	abi='$(FK_ABI)'; ver='$(FK_VERSION)'; \
	[[ $$abi =~ ^[0-9]+$$ ]] || { echo "no FK_ABI_VERSION in include/ferrokern.h"; exit 1; }; \
	[[ $$ver =~ ^([0-9]+)\.([0-9]+)\. ]] || { echo "no version in Cargo.toml"; exit 1; }; \
	major=$${BASH_REMATCH[1]}; minor=$${BASH_REMATCH[2]}; \
	echo "finding the libraries a static link needs (rustc --print native-static-libs)"; \
	CARGO_PROFILE_DEV_DEBUG=0 cargo rustc --lib --crate-type staticlib --target-dir target/native-static-libs \
	  -- --print native-static-libs > $(FK_STAGE)/native-static-libs.log 2>&1 \
	  || { cat $(FK_STAGE)/native-static-libs.log; exit 1; }; \
	libs=$$(sed -n 's/^note: native-static-libs: //p' $(FK_STAGE)/native-static-libs.log | tail -n 1); \
	[ -n "$$libs" ] || { cat $(FK_STAGE)/native-static-libs.log; echo "rustc printed no native-static-libs"; exit 1; }; \
	pclib='$(LIBDIR)'; pcinc='$(INCLUDEDIR)'; \
	[[ $$pclib == '$(PREFIX)'/* ]] && pclib='$${prefix}'$${pclib#'$(PREFIX)'}; \
	[[ $$pcinc == '$(PREFIX)'/* ]] && pcinc='$${prefix}'$${pcinc#'$(PREFIX)'}; \
	subst="s|@PREFIX@|$(PREFIX)|g; s|@LIBDIR@|$(LIBDIR)|g; s|@INCLUDEDIR@|$(INCLUDEDIR)|g; \
	  s|@PC_LIBDIR@|$$pclib|g; s|@PC_INCLUDEDIR@|$$pcinc|g; \
	  s|@VERSION@|$$ver|g; s|@VERSION_MAJOR@|$$major|g; s|@VERSION_MINOR@|$$minor|g; s|@ABI@|$$abi|g; \
	  s|@SIZEOF_VOID_P@|$$(( $$(getconf LONG_BIT) / 8 ))|g; \
	  s|@LIBS_PRIVATE@|$$libs|g; s|@CMAKE_LIBS_PRIVATE@|$${libs// /;}|g"; \
	for f in ferrokern.pc ferrokern-config.cmake ferrokern-config-version.cmake; do \
	  sed "$$subst" packaging/c/$$f.in > $(FK_STAGE)/$$f; \
	done; \
	objcopy --strip-debug --remove-section=.llvmbc --remove-section=.llvmcmd \
	  target/release/libferrokern.a $(FK_STAGE)/libferrokern.a; \
	echo "staged ferrokern $$ver (ABI $$abi; static link also needs: $$libs) in $(FK_STAGE)"

install: c-package
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(FK_CMAKEDIR)
	install -m 644 include/ferrokern.h include/ferrokern.hpp $(DESTDIR)$(INCLUDEDIR)/
	install -m 755 $(LIB) $(DESTDIR)$(LIBDIR)/$(FK_SONAME)
	ln -sfn $(FK_SONAME) $(DESTDIR)$(LIBDIR)/libferrokern.so
	install -m 644 $(FK_STAGE)/libferrokern.a $(DESTDIR)$(LIBDIR)/
	install -m 644 $(FK_STAGE)/ferrokern.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 644 $(FK_STAGE)/ferrokern-config.cmake $(FK_STAGE)/ferrokern-config-version.cmake $(DESTDIR)$(FK_CMAKEDIR)/

# Removes what `install` put there for this ABI version (a libferrokern.so.N of another
# ABI, installed side by side, stays).
uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/ferrokern.h $(DESTDIR)$(INCLUDEDIR)/ferrokern.hpp \
	  $(DESTDIR)$(LIBDIR)/$(FK_SONAME) $(DESTDIR)$(LIBDIR)/libferrokern.so $(DESTDIR)$(LIBDIR)/libferrokern.a \
	  $(DESTDIR)$(LIBDIR)/pkgconfig/ferrokern.pc \
	  $(DESTDIR)$(FK_CMAKEDIR)/ferrokern-config.cmake $(DESTDIR)$(FK_CMAKEDIR)/ferrokern-config-version.cmake
	-rmdir $(DESTDIR)$(FK_CMAKEDIR) 2>/dev/null

# Install into a temporary prefix, then build and run C programs against it with pkg-config
# only and CMake projects with find_package only, dynamically and statically.
test-install:
	MAKE='$(MAKE)' tests/install/test_install.sh

# The header-only C++ wrapper's test, under valgrind against the system-allocator build
# (like test-c).
test-cpp-wrapper:
	cargo build --release --no-default-features --target-dir target/valgrind
	$(call fk_soname_link,$(VGLIB_DIR))
	g++ -std=c++17 -O1 -g -Wall -Wextra -Wpedantic -Werror -Iinclude -o target/test_wrapper tests/cpp/test_wrapper.cpp \
	  -L$(VGLIB_DIR) -lferrokern
	LD_LIBRARY_PATH=$(VGLIB_DIR) FERROKERN_THREADS=2 $(VALGRIND) ./target/test_wrapper
