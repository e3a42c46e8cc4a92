# Thin wrapper over CMake. The two commands of the README:
#   make demo   installs what it needs, builds, runs the digits pipeline end to end
#   make test   installs what it needs, builds, runs every suite (GPU suites skip without a GPU)
BUILD ?= build
BUILD_ASAN ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build test test-asan demo oracle fuzz bench clean

all: build

deps:
	./scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

$(BUILD_ASAN)/CMakeCache.txt:
	cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDLP_SANITIZE=ON $(CMAKE_FLAGS)

# ASan+UBSan. LeakSanitizer stays on; OpenMP's and CUDA's runtime allocations
# that live until exit are listed in tests/lsan.supp.
test-asan: deps $(BUILD_ASAN)/CMakeCache.txt
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	ctest --test-dir $(BUILD_ASAN) --output-on-failure -j $(JOBS)

# libFuzzer targets, built with clang into build-fuzz/ (see README: Fuzzing).
fuzz: deps
	cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DDLP_FUZZ=ON -DDLP_WITH_CUDA=OFF
	cmake --build build-fuzz -j $(JOBS)

# Regenerates the committed test fixtures from the real references (pinned in
# tests/oracle/requirements.txt, installed into a venv under build/).
oracle: deps
	./tests/oracle/run.sh $(BUILD)/oracle-venv

demo: build
	./scripts/demo.sh $(BUILD)

# The CPU featurization benchmark beside PyTorch and Keras; appends to bench/RESULTS.md.
bench: build
	./scripts/install-bench-deps.sh
	./bench/featurize_cpu.sh --build $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) build-fuzz
