# trainproof: make demo (train, prove and verify on CPU), make test (every test).
GO        ?= go
DATA      ?= /usr/share/datasets/fashion-mnist
STEPS     ?= 1200
SAMPLES   ?= 16
OUT       ?= out/demo
BIN       := bin

.PHONY: all build deps data demo test test-short vet bench fuzz verifier-purego clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# deps installs what the project needs on a fresh Debian machine with Go:
# the Fashion-MNIST data set (Debian package dataset-fashion-mnist) and the Go modules.
deps: data
	$(GO) mod download

data:
	@if [ ! -f $(DATA)/train-images-idx3-ubyte.gz ] && [ ! -f $(DATA)/train-images-idx3-ubyte ]; then \
		echo "installing dataset-fashion-mnist (apt)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq dataset-fashion-mnist; \
	fi

# demo: train STEPS steps on CPU, prove every step, verify the chain of bundles.
demo: deps build
	rm -rf $(OUT)
	$(BIN)/prover train --steps $(STEPS) --samples $(SAMPLES) --out $(OUT) --data $(DATA)
	$(BIN)/verifier verify --key $(OUT)/miner.key.pub $(OUT)

# test: the README's test command; CI runs exactly this.
test: deps verifier-purego
	$(GO) vet ./...
	$(GO) test ./...

verifier-purego:
	CGO_ENABLED=0 $(GO) build ./verifier/... ./cmd/verifier

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./bundle/

clean:
	rm -rf $(BIN) out
