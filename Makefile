# The two commands a fresh machine needs are `make demo` and `make test`; everything else is a
# convenience for developers. Every target installs missing dependencies first.
BUILD_DIR ?= build/release
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
# ccache and precompiled headers only agree when ccache is told which differences to ignore.
export CCACHE_SLOPPINESS = pch_defines,time_macros,include_file_mtime,include_file_ctime

.PHONY: demo test test-slow bench build setup sanitize fuzz format format-check clean

# The demo builds only the binary it runs (not the tests, benchmarks or Python module).
demo: setup
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)
	cmake --build $(BUILD_DIR) -j $(JOBS) --target tributary
	$(BUILD_DIR)/tributary simulate configs/fmnist_fedavg_iid.toml --out runs/demo --overwrite

test: build format-check
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -LE slow --timeout 600

test-slow: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L slow --timeout 1800

bench: build
	$(BUILD_DIR)/bench/aggregate_bench
	$(BUILD_DIR)/bench/codec_bench
	$(BUILD_DIR)/bench/codec_variance
	$(BUILD_DIR)/bench/train_throughput_bench
	$(BUILD_DIR)/bench/lm_throughput_bench
	$(BUILD_DIR)/bench/training_flops_bench
	$(BUILD_DIR)/bench/deploy_bench
	$(BUILD_DIR)/bench/secagg_bench
	/usr/bin/python3 examples/bring_your_own/model.py $(BUILD_DIR)/fmnist_cnn.pt
	$(BUILD_DIR)/bench/torchscript_bench $(BUILD_DIR)/fmnist_cnn.pt

build: setup
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)
	cmake --build $(BUILD_DIR) -j $(JOBS)

setup:
	./scripts/setup.sh

# make sanitize SAN=address|undefined|thread (docs/reliability.md). ThreadSanitizer cannot run a
# process that loads libtorch: the thread build runs the libtorch-free tests only.
SAN ?= address
sanitize:
ifeq ($(SAN),thread)
	cmake -S . -B build/thread -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRIBUTARY_SANITIZE=thread
	cmake --build build/thread -j $(JOBS) --target tributary_torch_free_tests
	cd build/thread && ctest --output-on-failure -j $(JOBS) -L torch_free
else
	$(MAKE) test BUILD_DIR=build/$(SAN) BUILD_TYPE=RelWithDebInfo CMAKE_ARGS=-DTRIBUTARY_SANITIZE=$(SAN)
endif

# make fuzz [FUZZ_SECONDS=60] [FUZZ_RUNS=N]: every fuzz target (fuzz/) under libFuzzer with
# AddressSanitizer and UndefinedBehaviorSanitizer, FUZZ_SECONDS each (or N executions, whichever
# comes first), two at a time (docs/reliability.md).
FUZZ_SECONDS ?= 60
fuzz: setup
	CXX=clang++ cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRIBUTARY_SANITIZE=fuzz
	cmake --build build/fuzz -j $(JOBS) --target fuzz_targets
	FUZZ_RUNS=$(FUZZ_RUNS) ./scripts/run_fuzzers.sh build/fuzz $(FUZZ_SECONDS)

SOURCES = $(shell find src bench cmake python fuzz -name '*.h' -o -name '*.cc')
format:
	clang-format -i $(SOURCES)

format-check:
	clang-format --dry-run --Werror $(SOURCES)

clean:
	rm -rf build
