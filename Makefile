# The fleet agent's build. `make demo` runs the agent end to end on this machine; `make test` runs
# every test. Both install what they need (Debian packages, npm modules) when it is missing.

GO        ?= go
BIN       := bin
PKGS      := ./...
# Tests start real servers (redis-server, sshd) and the VirtualBox simulator; -race is always on.
TESTFLAGS ?= -race -count=1 -timeout 20m
FUZZTIME  ?= 5s

.PHONY: all build test test-deps lint vet fuzz-smoke bench demo clean

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

bench:
	@scripts/bench.sh

demo:
	@if [ -x scripts/demo.sh ]; then scripts/demo.sh; else \
	  echo "make demo is not built yet: it comes with the daemon (agent run). Today: make build && bin/agent validate -c fleet.hcl.example"; exit 1; fi

clean:
	rm -rf $(BIN)
