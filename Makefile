# openjpki: the targets wrap CMake.  `make run` and `make test` work on a
# fresh Debian machine: they install what is missing first.
#   make run              set up a demo data directory and run the system:
#                         jpki serve (:8080) and the counter web UI (:8081)
#                         (build-release/: no test hooks in that binary)
#   make release          just build build-release/jpki
#   make test             the whole suite: plain build, ASan+UBSan build, fuzz smoke
#   make check            the suite once, on the build selected by SANITIZE=1
#   make bench [BENCH=x]  benchmarks (all, or one)
#   make fuzz [FUZZ_SECONDS=n]  every libFuzzer target for n seconds
#   make install [PREFIX=/usr/local] [DESTDIR=...]  jpki, its manual pages
#                         and bash completion

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
SANITIZE ?= 0
FUZZ_SECONDS ?= 30
BENCH ?=
DEMO_DIR ?= $(CURDIR)/demo-data
PREFIX ?= /usr/local

# build/ and build-asan/ are test builds: the crash tests need the hooks.
ifeq ($(SANITIZE),1)
BUILD := build-asan
CMAKE_FLAGS := -DSANITIZE=ON -DCMAKE_C_COMPILER=clang -DJPKI_TEST_HOOKS=ON
else
BUILD := build
# The plain build also runs the shell tests on PostgreSQL (name@pg).
CMAKE_FLAGS := -DJPKI_TEST_HOOKS=ON -DJPKI_TEST_POSTGRESQL=ON
endif
RELEASE := build-release

.PHONY: all deps test-deps build release check test test-plain test-asan run bench fuzz install clean

all: build

deps:
	@sh scripts/install-deps.sh build

test-deps:
	@sh scripts/install-deps.sh test

# Configured every time: a build directory first made by a plain
# `cmake -S . -B build` gets the test hooks too.
build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

# The binary people run: no test hooks (its post-build step checks that).
release: deps
	cmake -S . -B $(RELEASE) -DJPKI_TEST_HOOKS=OFF >/dev/null
	cmake --build $(RELEASE) -j $(JOBS) --target jpki man

check: test-deps build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test: test-deps
	$(MAKE) check SANITIZE=0
	$(MAKE) check SANITIZE=1
	$(MAKE) fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)

# The counter's web UI (jpki counter serve, 127.0.0.1:8081) runs beside
# the public responder (jpki serve, 127.0.0.1:8080); Ctrl-C stops both.
run: release
	sh scripts/demo.sh $(RELEASE)/jpki $(DEMO_DIR)
	$(RELEASE)/jpki crl generate --data $(DEMO_DIR) >/dev/null
	$(RELEASE)/jpki counter serve --data $(DEMO_DIR) --listen 127.0.0.1:8081 & \
	counter=$$!; trap 'kill $$counter 2>/dev/null' EXIT INT TERM; \
	$(RELEASE)/jpki serve --data $(DEMO_DIR) --listen 127.0.0.1:8080 --rp --kiosk

bench: deps
	@sh scripts/install-deps.sh bench
	$(MAKE) build SANITIZE=0
	sh bench/run build $(BENCH)

fuzz: test-deps
	cmake -S . -B build-fuzz -DFUZZ=ON -DCMAKE_C_COMPILER=clang >/dev/null
	cmake --build build-fuzz -j $(JOBS)
	sh scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)

# DESTDIR, when set, is honoured by cmake --install (staged installs).
install: release
	cmake --install $(RELEASE) --prefix $(PREFIX)

clean:
	rm -rf build build-asan build-fuzz $(RELEASE)
