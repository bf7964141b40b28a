# Gleaner. `make demo` and `make test` are the quick start; both install what
# they need (see deploy/install-deps.sh).
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      := bin/gleaner
export PATH := $(shell $(GO) env GOPATH)/bin:$(PATH)

.PHONY: all deps build test test-short chaos colocation bench demo proto proto-check lint dist clean

all: build

deps:
	@./deploy/install-deps.sh

# bin/gleaner is the one binary; bin/gleaner-executor is the same executor in a
# slim build (a third of the resident memory), which agents can be pointed at;
# bin/gleaner-monitor is `gleaner monitor` in a slim build (about half the RSS).
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/gleaner
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/gleaner-executor ./executor/cmd/gleaner-executor
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/gleaner-monitor ./monitor/cmd/gleaner-monitor

# The whole suite: lint, generated code current, every test (race-free and real:
# embedded and Debian etcd, real cgroups and chroot, the local Mesos).
test: deps lint proto-check
	$(GO) test -count=1 -timeout 18m ./...

test-short:
	$(GO) test -short -count=1 ./...

# The long chaos run (about 5 minutes): etcd, mesos-local and two schedulers,
# the leader SIGKILLed >=20 times, agents, the local Mesos and etcd restarted;
# prints "chaos: K leader kills, ... N instances, 0 lost, 0 duplicate" and fails
# otherwise. Its short form runs in make test.
chaos: deps build
	$(GO) test -c -o bin/chaos.test ./test/chaos
	GLEANER_BIN=$(CURDIR)/$(BIN) ./bin/chaos.test -test.run '^TestChaos$$' -test.timeout 20m -chaos.long

# The co-location benchmark (issue 15, about 13 minutes): a business HTTP service
# under an open-loop diurnal load, beside a batch job through etcd, mesos-local,
# the scheduler and the monitor, in four scenarios on the same trace. Prints the
# table; writes report.json, report.txt and a picture per scenario to
# test/colocation/out (or $COLOCATION_OUT). Its smoke form runs in make test.
colocation: deps build
	$(GO) test -c -o bin/colocation.test ./test/colocation
	cd test/colocation && GLEANER_BIN=$(CURDIR)/$(BIN) $(CURDIR)/bin/colocation.test -test.run '^TestColocation$$' -test.timeout 30m -test.v -colocation.full $(COLOCATION_ARGS)

# Headline figures as one table: name  value  unit  goal.
bench: deps
	@./test/benchtable/run.sh

demo: deps build
	@./deploy/demo.sh

proto: deps
	./proto/gen.sh

proto-check: deps
	@./proto/gen.sh && git diff --exit-code -- proto/ >/dev/null || \
		(echo "proto/: generated code is stale; run make proto and commit" >&2; git diff --stat -- proto/; exit 1)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

dist: build
	@./deploy/dist.sh $(VERSION)

clean:
	rm -rf bin dist
