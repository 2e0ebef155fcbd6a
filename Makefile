# NetReady — common tasks. `make run` starts a server, `make test` runs
# every check and test; see README.md.

GO        ?= go
DATA_DIR  ?= data
LISTEN    ?= 127.0.0.1:9339
FUZZTIME  ?= 30s
SCENARIOS := $(wildcard testdata/scenarios/*.json)
GENERATED := gen/realization/realization.go gen/sites/sites.go southbound/ebpffwd/fwd_bpfel.go
# The eBPF forwarder's object: built from its C source (clang), embedded in
# the binary, never committed.
BPF_OBJ   := southbound/ebpffwd/fwd_bpfel.o
BPF_SRC   := southbound/ebpffwd/fwd.c southbound/ebpffwd/l2.h

.PHONY: bpf run build test check fmt-check vet gen gen-check yanglint deps bench fuzz clean lab lab-down geolab geolab-down

## run: start netreadyd on the embedded bbolt store in $(DATA_DIR) (TLS, self-signed certificate)
run: $(BPF_OBJ)
	$(GO) run ./cmd/netreadyd --listen $(LISTEN) --data-dir $(DATA_DIR) $(ARGS)

## bpf: build the eBPF forwarder's object from its C source (installs clang if missing)
bpf: $(BPF_OBJ)

$(BPF_OBJ): $(BPF_SRC)
	@.ci/deps bpf
	$(GO) generate ./southbound/ebpffwd/

## lab: (root) two host namespaces for the scenarios' linux-vforwarder backends
lab:
	testdata/lab/lab.sh up

## lab-down: (root) remove the lab, its guests and the driver's VRF namespaces
lab-down:
	testdata/lab/lab.sh down

## geolab: (root) bin/netreadyd and two sites, dc-b and dc-d, each a gateway and a host (README, georedundancy)
geolab: build
	testdata/lab/geolab.sh up

## geolab-down: (root) remove the two sites, their guests and the drivers' VRF namespaces
geolab-down:
	testdata/lab/geolab.sh down

## build: build bin/netreadyd
build: $(BPF_OBJ)
	$(GO) build -o bin/netreadyd ./cmd/netreadyd

## test: every check and every test (what CI runs). The daemon package
## takes about 6 minutes with -race on a quiet 2-core machine: go test's
## default 10-minute limit per package is too close on a busy one.
test: deps $(BPF_OBJ) check
	$(GO) test -race -count=1 -timeout 30m ./...

## check: formatting, vet, YANG and generated code up to date
check: fmt-check vet yanglint gen-check

fmt-check:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet: $(BPF_OBJ)
	$(GO) vet ./...

## gen: regenerate gen/ (the typed views of the tree) from yang/ and gen/*/reads.txt,
## and the eBPF forwarder's BPF object and bindings from southbound/ebpffwd/fwd.c (clang)
gen:
	$(GO) generate ./gen/... ./southbound/ebpffwd/

## gen-check: fail if gen/ and the BPF Go bindings do not match what their sources generate
gen-check: $(BPF_OBJ)
	@tmp=$$(mktemp -d); cp $(GENERATED) $$tmp/; \
	$(GO) generate ./gen/... ./southbound/ebpffwd/ || { rm -rf $$tmp; exit 1; }; \
	for f in $(GENERATED); do \
		if ! cmp -s $$f $$tmp/$$(basename $$f); then echo "$$f was stale: regenerated it; review and commit it"; rm -rf $$tmp; exit 1; fi; \
	done; rm -rf $$tmp

## yanglint: the modules and every scenario must pass yanglint without a word
yanglint: deps
	@out=$$(yanglint -p yang yang/*.yang 2>&1); if [ -n "$$out" ]; then echo "$$out"; exit 1; fi
	@for f in $(SCENARIOS); do yanglint -p yang -t config yang/*.yang $$f || exit 1; done

## deps: install test tools that are missing (yanglint, iproute2, ping, FRR)
deps:
	@.ci/deps

## bench: the performance benchmarks (results: docs/performance.md)
bench: $(BPF_OBJ)
	$(GO) test -run='^$$' -bench='^Benchmark(SetFloor|SetFloorConcurrent32|SetOneLeaf|SetConcurrent32)$$' -benchtime=3000x ./cmd/netreadyd/daemon/
	$(GO) test -run='^$$' -bench='SetCommitConfirmed' -benchtime=1000x ./cmd/netreadyd/daemon/
	$(GO) test -run='^$$' -bench='SetBulk10k|GetAll' -benchtime=5x ./cmd/netreadyd/daemon/
	$(GO) test -run='^$$' -bench='Delivery' -benchtime=200x ./server/telemetry/
	$(GO) test -run='^$$' -bench='OnChange' -benchtime=100x ./cmd/netreadyd/daemon/
	$(GO) test -run='^$$' -bench='InitialSync100k|IdleSubscriberMemory' -benchtime=3x ./cmd/netreadyd/daemon/
	$(GO) test -run='^$$' -bench='SetLatencyWithStalledSubscriber' -benchtime=2000x ./cmd/netreadyd/daemon/
	$(GO) test -run='^$$' -bench='SetAmongL2Networks' -benchtime=100x ./southbound/realize/
	@# Authorization off/on pairs, each side in its own process so that heap
	@# growth from one run does not tax the other.
	@for b in AccessSet AccessGet AccessSubscribe; do for m in off on; do \
		$(GO) test -run='^$$' -bench="Benchmark$$b/$$m" -benchtime=300x ./cmd/netreadyd/daemon/ | grep '^Benchmark'; done; done
	$(GO) test -run='^$$' -bench='SetOneLeafDropped' -benchtime=3000x ./cmd/netreadyd/daemon/
	$(GO) test -run='^$$' -bench='GetCounters1000' -benchtime=20x ./cmd/netreadyd/daemon/
	$(GO) test -run='^$$' -bench='Counters1000Bindings|Probe1000Bindings' -benchtime=10x ./southbound/linuxfwd/

	$(GO) test -run='^$$' -bench='EtcdSetOneLeaf|EtcdSetConcurrent32|EtcdFollowerLag|EtcdReplicasConcurrent32' -benchtime=1000x ./cmd/netreadyd/daemon/
	$(GO) test -run='^$$' -bench='FailoverReconciled|FollowerStatusLag' -benchtime=10x ./cmd/netreadyd/daemon/
	$(GO) test -run='^$$' -bench='StatusAt30kObjects' -benchtime=5x ./server/replica/
	$(GO) test -run='^$$' -bench='Failover' -benchtime=10x ./cmd/netreadyd/
	$(GO) test -run='^$$' -bench=. -benchtime=200x ./server/store/
	$(GO) test -run='^$$' -bench=. ./server/schema/value/ ./server/authz/ ./server/auth/ ./southbound/routing/
	$(GO) test -run='^$$' -bench='Committing' ./server/audit/
	$(GO) test -run='^$$' -bench='LoadDroppedModule' -benchtime=50x ./server/schema/
	$(GO) test -run='^$$' -bench='CheckOneLeaf' ./server/validate/
	$(GO) test -run='^$$' -bench='RouteTarget' ./server/rules/
	@# Leaf-lists (linear duplicate check, max-elements before parsing) and strict JSON.
	$(GO) test -run='^$$' -bench='DecodeLeafList' ./server/tree/
	$(GO) test -run='^$$' -bench='SetLeafList' -benchtime=5x ./cmd/netreadyd/daemon/
	$(GO) test -run='^$$' -bench='Parse' -benchtime=20x ./server/strictjson/
	@# Realization on real namespaces (needs root): Set -> every forwarder programmed.
	$(GO) test -run='^$$' -bench='RealizeOneBinding' -benchtime=200x ./cmd/netreadyd/daemon/
	$(GO) test -run='^$$' -bench='Realize1000Bindings' -benchtime=3x ./cmd/netreadyd/daemon/
	$(GO) test -run='^$$' -bench='SetOneLeafRealizing/mtu' -benchtime=2000x ./cmd/netreadyd/daemon/
	$(GO) test -run='^$$' -bench='SetOneLeafRealizing/binding' -benchtime=5x ./cmd/netreadyd/daemon/
	$(GO) test -run='^$$' -bench=. -benchtime=3x ./southbound/linuxfwd/
	@# The eBPF forwarder (vendor B) against the same work, and both data planes' latency and throughput.
	$(GO) test -run='^$$' -bench='Apply1000Bindings' -benchtime=3x ./southbound/ebpffwd/
	$(GO) test -run='^$$' -bench='Forwarding' -benchtime=2000x ./southbound/ebpffwd/
	$(GO) test -run='^$$' -bench='Probe1000Bindings' -benchtime=3x ./southbound/ebpffwd/
	@# MP-BGP export to a real FRR bgpd (needs root and FRR: .ci/deps).
	$(GO) test -run='^$$' -bench='BGPOneBindingToFRR' -benchtime=50x ./cmd/netreadyd/daemon/
	$(GO) test -run='^$$' -bench='BGPColdStart10k' -benchtime=3x ./cmd/netreadyd/daemon/
	$(GO) test -run='^$$' -bench='BGPImportFlood100k|BGPPeerFlap' -benchtime=1x ./cmd/netreadyd/daemon/

## fuzz: run every fuzz target for $(FUZZTIME)
fuzz: $(BPF_OBJ)
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

clean:
	rm -rf bin
