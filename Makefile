# The fleet agent's build. `make demo` runs the agent end to end on this machine; `make test` runs
# every test. Both install what they need (Debian packages, npm modules) when it is missing.

GO        ?= go
BIN       := bin
PKGS      := ./...
# Tests start real servers (redis-server, sshd) and the VirtualBox simulator; -race is always on.
TESTFLAGS ?= -race -count=1 -timeout 25m
FUZZTIME  ?= 5s

.PHONY: all build test test-deps lint vet fuzz-smoke bench demo clean chaos

all: build

build:
	$(GO) build -o $(BIN)/agent ./agent
	@if [ -d vbox/vboxsim/cmd/vboxsim ]; then $(GO) build -o $(BIN)/vboxsim ./vbox/vboxsim/cmd/vboxsim; fi
	@if [ -d chef/cmd/chef-solo-sim ]; then $(GO) build -o $(BIN)/chef-solo-sim ./chef/cmd/chef-solo-sim; fi

# test-deps installs the system packages and npm modules the tests use, only when missing.
test-deps:
	@scripts/test-deps.sh

test: test-deps vet
	$(GO) test $(TESTFLAGS) $(PKGS)

vet:
	$(GO) vet $(PKGS)

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# fuzz-smoke runs every fuzz target for FUZZTIME each.
fuzz-smoke:
	@scripts/fuzz-smoke.sh $(FUZZTIME)

# chaos runs the fleet durability chaos test with a few hundred jobs (4 agents, one SIGKILLed,
# one SIGSTOPped past its lease, redis-server killed and restarted once; make test runs it with
# 40 jobs). CHAOS_JOBS sets the number.
CHAOS_JOBS ?= 300
chaos:
	FLEET_CHAOS_JOBS=$(CHAOS_JOBS) $(GO) test -race -count=1 -timeout 30m -v -run TestChaosEveryJobEndsExactlyOnce ./agent/

# bench prints the headline figures as one table (about 6 minutes; see scripts/bench.sh);
# BENCH_JSON=FILE also writes them as JSON with stable keys.
bench:
	@scripts/bench.sh

# demo runs the agent end to end on real QEMU VMs when QEMU installs, else on the VirtualBox
# simulator (about 20 s after the first build; see scripts/demo.sh).
demo:
	@scripts/demo.sh

clean:
	rm -rf $(BIN)
