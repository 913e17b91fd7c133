# Thin wrapper over the CMake presets: `make demo` and `make test` are the README's quick start.
JOBS ?= 2
CTEST_JOBS ?= 2
FABTWIN := build/release/bench/fabtwin

.PHONY: deps release asan demo test test-release test-asan test-fuzz test-package baselines fidelity format clean

deps:
	bash scripts/install-deps.sh

release: deps
	cmake --preset release
	cmake --build --preset release -j $(JOBS)

asan: deps
	cmake --preset asan
	cmake --build --preset asan -j $(JOBS)

# The main job on the built-in default scenario: the default fabric (16 DGX H100 nodes), NCCL's own
# choice on it beside a textbook ring, then the what-if of
# scripts/whatif.sh (rail-optimized against an equal-switch leaf-spine, ring against hierarchical,
# packet simulation beside the analytic prediction), with a plot under results/whatif/.
demo: release
	$(FABTWIN) topo
	@echo
	@echo "# What NCCL runs on this fabric (its tuner's pick per size), then a textbook ring for contrast:"
	$(FABTWIN) sim --algo nccl -b 8 -e 8GiB -f 8
	@echo
	$(FABTWIN) sim --algo ring -b 1MiB -e 8GiB -f 8
	@echo
	bash scripts/whatif.sh $(FABTWIN) $(MEASURED)

test-release: release
	ctest --preset release -j $(CTEST_JOBS)

# Under the sanitizers, every test but the 128- and 256-rank plan sweeps and the simulator baselines:
# the release run covers those, and the same code at 2-64 ranks is what finds a memory error. This keeps
# `make test` under 30 minutes on 2 cores.
ASAN_EXCLUDE ?= _(128|256)( |$$)|^baseline\.
test-asan: asan
	ctest --preset asan -j $(CTEST_JOBS) -E '$(ASAN_EXCLUDE)'


# Every reader of outside input under libFuzzer, FUZZ_SECONDS each (scripts/fuzz.sh).
FUZZ_SECONDS ?= 10
test-fuzz: deps
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

# cmake --install into a scratch prefix and the .deb (scripts/check-package.sh).
test-package: release
	bash scripts/check-package.sh build/release

test: test-release test-package test-asan test-fuzz

# Published nccl-tests tables (FIDELITY_DIR) against the model: median and worst |busbw error|.
FIDELITY_DIR ?= ../shared/fidelity
fidelity: release
	build/release/bench/fidelity bench/fidelity/tables.json $(FIDELITY_DIR) $(PACKET_MAX) $(DETAIL)

# Rewrite results/baselines/*.json after an intended change to a simulator (review the diff).
baselines: release
	bash scripts/baselines.sh $(FABTWIN) update

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build
