# trainproof: make demo (train, prove and verify on CPU), make test (every test).
GO        ?= go
DATA      ?= /usr/share/datasets/fashion-mnist
STEPS     ?= 2000
SAMPLES   ?= 16
OUT       ?= out/demo
BIN       := bin

.PHONY: test-kernels all build deps data onednn demo test vet bench bench-onednn generate fuzz verifier-purego clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# deps installs what the project needs on a fresh Debian machine with Go:
# the Fashion-MNIST data set (Debian package dataset-fashion-mnist), oneDNN
# (libdnnl-dev, the reference our int8 GEMM is tested and measured against)
# and the Go modules.
deps: data onednn
	$(GO) mod download

onednn:
	@if [ ! -f /usr/include/dnnl.h ]; then \
		echo "installing libdnnl-dev (apt)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libdnnl-dev; \
	fi

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

# test: the README's test command; CI runs exactly this. It also checks that
# every GEMM path equals oneDNN bit for bit, and the pure-Go build.
test: deps verifier-purego
	$(GO) vet ./...
	$(GO) test ./...
	$(GO) test -tags onednn ./matmul/onednn/
	$(GO) test -tags purego ./matmul/ ./field/ ./freivalds/

verifier-purego:
	CGO_ENABLED=0 $(GO) build ./verifier/... ./cmd/verifier

# test-kernels runs every CUDA kernel in kernels/ through the SIMT emulator
# against the CPU backend, and the emulator's own tests.
test-kernels:
	$(GO) test -count=1 ./cgo/emu/ ./gpu/

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

bench-onednn:
	$(GO) test -tags onednn -run '^$$' -bench . -benchtime 3x ./matmul/onednn/

# generate regenerates the avo kernels (matmul/gemm_amd64.s, field/dot_amd64.s).
generate:
	cd matmul/_asm && $(GO) run . -out ../gemm_amd64.s -stubs ../gemm_amd64_stub.go -pkg matmul
	cd field/_asm && $(GO) run . -out ../dot_amd64.s -stubs ../dot_amd64_stub.go -pkg field

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./bundle/

clean:
	rm -rf $(BIN) out
