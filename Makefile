# Thin wrapper over the CMake presets: `make demo` and `make test` are the README's quick start.
JOBS ?= 2
CTEST_JOBS ?= 2
FABTWIN := build/release/bench/fabtwin

.PHONY: deps release asan demo test test-release test-asan baselines format clean

deps:
	bash scripts/install-deps.sh

release: deps
	cmake --preset release
	cmake --build --preset release -j $(JOBS)

asan: deps
	cmake --preset asan
	cmake --build --preset asan -j $(JOBS)

# The main job on the built-in default scenario: the fabric, then ring against rail-aware
# hierarchical all-reduce as the analytic model predicts them on it.
demo: release
	$(FABTWIN) topo
	@echo
	$(FABTWIN) sim --algo ring -b 1KiB -e 1GiB -f 4
	@echo
	$(FABTWIN) sim --algo hierarchical -b 1KiB -e 1GiB -f 4
	@echo
	$(FABTWIN) sim --algo auto -b 1KiB -e 1GiB -f 4

test-release: release
	ctest --preset release -j $(CTEST_JOBS)

test-asan: asan
	ctest --preset asan -j $(CTEST_JOBS)

test: test-release test-asan

# Rewrite results/baselines/*.json after an intended change to a simulator (review the diff).
baselines: release
	bash scripts/baselines.sh $(FABTWIN) update

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build
