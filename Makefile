# trainproof: make demo (train, prove and verify on CPU), make test (every test).
GO        ?= go
DATA      ?= /usr/share/datasets/fashion-mnist
STEPS     ?= 2000
SAMPLES   ?= 128
OUT       ?= out/demo
BIN       := bin

.PHONY: succinct-demo gobench solc cublas-ref cuda-toolkit nvcc-version kernels check-kernels check-sass cuda gpu-pack test-kernels all build deps data onednn demo test vet bench bench-onednn generate fuzz verifier-purego cross test-arm64 qemu clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# deps installs what the project needs on a fresh Debian machine with Go:
# the Fashion-MNIST data set (Debian package dataset-fashion-mnist), oneDNN
# (libdnnl-dev, the reference our int8 GEMM is tested and measured against)
# and the Go modules.
deps: data onednn solc
	$(GO) mod download

# solc (npm) compiles the exported Solidity verifier for the EVM test (snark/).
solc:
	@if [ ! -x .tools/node_modules/.bin/solcjs ]; then \
		if ! command -v npm >/dev/null; then \
			SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
			$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm; \
		fi; \
		echo "installing solc 0.8.37 (npm) into .tools"; \
		npm install --no-save --no-audit --no-fund --prefix .tools solc@0.8.37 >/dev/null; \
	fi

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
# It needs the data set and the binaries, nothing else (solc and oneDNN are for
# the tests).
demo: data build
	rm -rf $(OUT)
	$(BIN)/prover train --steps $(STEPS) --samples $(SAMPLES) --out $(OUT) --data $(DATA)
	$(BIN)/verifier verify --task $$(cat $(OUT)/task.id) --key $(OUT)/miner.key.pub $(OUT)

# succinct-demo: development keys for a small model (784-8-6-10, batch 4),
# three training steps proven with Groth16, verified as a chain.
SDEMO ?= out/succinct
succinct-demo: data build
	rm -rf $(SDEMO)
	$(BIN)/prover setup --train --layers 8,6 --batch 4 --samples 1 --out $(SDEMO)/keys
	$(BIN)/prover train --steps 3 --layers 8,6 --batch 4 --samples 1 --succinct --pk $(SDEMO)/keys/step.pk --out $(SDEMO) --data $(DATA)
	$(BIN)/verifier verify --mode succinct --allow-dev-keys --vk $(SDEMO)/keys/step.vk --task $$(cat $(SDEMO)/task.id) --key $(SDEMO)/miner.key.pub $(SDEMO)

# test: the README's test command; CI runs exactly this. It also checks that
# every GEMM path equals oneDNN bit for bit, the pure-Go build, the cross
# builds and the portable paths' tests on arm64 (under qemu).
test: deps verifier-purego cross test-arm64
	$(GO) vet ./...
	TRAINPROOF_REQUIRE_EVM=1 $(GO) test ./...
	$(GO) test -tags onednn ./matmul/onednn/
	$(GO) test -tags purego ./matmul/ ./field/ ./freivalds/ ./commit/

verifier-purego:
	CGO_ENABLED=0 $(GO) build -o /dev/null ./verifier/... ./cmd/verifier

# cross: the verifier and the prover for the platforms nodes and miners run
# on, without cgo (the prover then has the portable CPU backend and no
# emulator or GPU; the verifier never needs cgo), and every package for arm64.
CROSS     ?= linux/arm64 darwin/arm64 windows/amd64 linux/arm linux/386
cross:
	@set -e; for p in $(CROSS); do \
		echo "cross: $$p: cmd/verifier, cmd/prover"; \
		CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build -o /dev/null ./cmd/verifier; \
		CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build -o /dev/null ./cmd/prover; \
	done
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -o /dev/null ./...

# test-arm64: the verifier's tests and those of the primitives it rests on,
# built for linux/arm64 (the portable paths are the reference there: no
# assembly) and run under Debian's qemu-user; about 1.5 min on 2 cores. The
# three statistical soundness tests (thousands of proofs, 10+ min emulated)
# are left to the native run: they repeat the code paths the others cover.
ARM64_PKGS ?= ./verifier/... ./field/ ./commit/ ./freivalds/
ARM64_SKIP ?= TestSoundnessOneRowCheats|TestSoundnessGlobalCheats|TestSampledEscapeRates
test-arm64: qemu
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) test -count=1 -exec qemu-aarch64 -skip '$(ARM64_SKIP)' $(ARM64_PKGS)

qemu:
	@if ! command -v qemu-aarch64 >/dev/null; then \
		echo "installing qemu-user (apt)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq qemu-user; \
	fi

# CUDA. The kernels are compiled by CUDA 12.4 (Debian 13's non-free
# nvidia-cuda-toolkit 12.4.131, the first Debian CUDA with Hopper's wgmma),
# unpacked by scripts/install-cuda-toolkit.sh into a private prefix; Debian
# 12's own /usr/bin/nvcc (11.8) is not used. The committed PTX and fatbin are
# exactly what that nvcc makes (CI rebuilds them: make check-kernels).
CUDA_VERSION := 12.4.131
CUDA_PREFIX  ?= /opt/trainproof/cuda-12.4
NVCC         ?= $(CUDA_PREFIX)/bin/nvcc
CUOBJDUMP    ?= $(CUDA_PREFIX)/bin/cuobjdump
# cgo for -tags cuda: the prefix's cuda.h and its libcuda.so stub (the binary
# then loads the driver's libcuda.so.1 at run time).
CUDA_CGO     := CGO_CFLAGS="-g -O2 -I$(CUDA_PREFIX)/usr/include" CGO_LDFLAGS="-L$(CUDA_PREFIX)/usr/lib/x86_64-linux-gnu/stubs"

cuda-toolkit:
	CUDA_PREFIX=$(CUDA_PREFIX) bash scripts/install-cuda-toolkit.sh

# nvcc-version: the nvcc in use is the one the committed kernels were built
# with (installing the private prefix first when NVCC is its default).
nvcc-version:
	@if [ "$(NVCC)" = "$(CUDA_PREFIX)/bin/nvcc" ] && [ ! -f "$(CUDA_PREFIX)/.installed" ]; then \
		CUDA_PREFIX=$(CUDA_PREFIX) bash scripts/install-cuda-toolkit.sh; \
	fi
	@v=$$($(NVCC) --version 2>/dev/null | sed -n 's/.*, V\([0-9.]*\)$$/\1/p'); \
	if [ "$$v" != "$(CUDA_VERSION)" ]; then \
		echo "nvcc-version: $(NVCC) is CUDA $${v:-(none found)}, but kernels/build and cgo/cuda/kernels.fatbin are built with CUDA $(CUDA_VERSION): run scripts/install-cuda-toolkit.sh and leave NVCC unset" >&2; \
		exit 1; \
	fi

# kernels compiles kernels/*.cu: PTX for review (compute_80) and the fatbin
# cgo/cuda embeds: SASS for sm_80 (A100) and sm_90a (H100, H200), and
# compute_80 PTX that newer GPUs JIT-compile. Both are committed.
ARCH      ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90a,code=sm_90a -gencode arch=compute_80,code=compute_80
KERNELS   := kernels/all.cu
kernels: nvcc-version
	mkdir -p kernels/build
	$(NVCC) -ptx -arch=compute_80 -o kernels/build/kernels.ptx.tmp $(KERNELS)
	( echo '// Code generated by make kernels (nvcc $(CUDA_VERSION) -ptx -arch=compute_80 $(KERNELS)). DO NOT EDIT.'; \
	  cat kernels/build/kernels.ptx.tmp ) > kernels/build/kernels.ptx && rm kernels/build/kernels.ptx.tmp
	$(NVCC) -fatbin $(ARCH) -o cgo/cuda/kernels.fatbin $(KERNELS)

# check-kernels: rebuilding the kernels leaves the committed PTX and fatbin
# unchanged (CI). On a difference it says whether the nvcc or the sources
# differ, instead of printing a 10 000-line PTX diff.
check-kernels: kernels
	@if ! git diff --quiet -- kernels/build cgo/cuda/kernels.fatbin; then \
		was=$$(git show :kernels/build/kernels.ptx | grep -m1 'Cuda compilation tools'); \
		now=$$(grep -m1 'Cuda compilation tools' kernels/build/kernels.ptx); \
		git diff --stat -- kernels/build cgo/cuda/kernels.fatbin; \
		if [ "$$was" != "$$now" ]; then \
			echo "check-kernels: the committed kernels say '$${was#// }', this nvcc says '$${now#// }': build with CUDA $(CUDA_VERSION) (scripts/install-cuda-toolkit.sh)" >&2; \
		else \
			echo "check-kernels: kernels/*.cu changed without make kernels: run make kernels and commit kernels/build and cgo/cuda/kernels.fatbin" >&2; \
		fi; \
		exit 1; \
	fi
	@echo "check-kernels: kernels/build and cgo/cuda/kernels.fatbin are what nvcc $(CUDA_VERSION) makes"

# check-sass: the tensor-core instructions are really in the machine code:
# IMMA (mma.sync) in the committed fatbin's sm_80 and sm_90a SASS, Hopper's
# warpgroup IGMMA (wgmma) in its sm_90a SASS when a kernel uses wgmma
# (gemm_s8_sm90), and IGMMA from the toolchain probe (scripts/wgmma-probe.cu).
check-sass: nvcc-version
	$(NVCC) -cubin -arch=sm_90a -o kernels/build/wgmma-probe.sm_90a.cubin scripts/wgmma-probe.cu
	@set -e; \
	n80=$$($(CUOBJDUMP) -sass -arch sm_80 cgo/cuda/kernels.fatbin | grep -c 'IMMA.16832.S8.S8' || true); \
	n90=$$($(CUOBJDUMP) -sass -arch sm_90a cgo/cuda/kernels.fatbin | grep -c ' IMMA.16832.S8.S8' || true); \
	g90=$$($(CUOBJDUMP) -sass -arch sm_90a cgo/cuda/kernels.fatbin | grep -c 'IGMMA.64x256x32.S8.S8' || true); \
	gp=$$($(CUOBJDUMP) -sass kernels/build/wgmma-probe.sm_90a.cubin | grep -c 'IGMMA.64x256x32.S8.S8' || true); \
	rm -f kernels/build/wgmma-probe.sm_90a.cubin; \
	echo "check-sass: IMMA.16832.S8.S8 in the fatbin: sm_80 $$n80, sm_90a $$n90; IGMMA.64x256x32.S8.S8 in its sm_90a: $$g90, in the wgmma probe: $$gp"; \
	test "$$n80" -gt 0 && test "$$n90" -gt 0 && test "$$gp" -gt 0; \
	if grep -q 'wgmma.mma_async' kernels/*.cu kernels/*.h; then test "$$g90" -gt 0; fi

# cublas-ref builds the cuBLASLt int8 reference timer (it runs on a GPU
# machine; here it links against the prefix's libcublasLt stub).
cublas-ref: nvcc-version
	mkdir -p $(BIN)
	$(NVCC) -O2 -o $(BIN)/cublas_ref bench/cublas/cublas_ref.cu -lcublasLt

# cuda builds every cuda-tagged package and test binary (they run only on a GPU machine).
cuda: kernels cublas-ref
	mkdir -p $(BIN)/cuda
	$(CUDA_CGO) $(GO) build -tags cuda -o $(BIN)/cuda/ ./cmd/...
	$(CUDA_CGO) $(GO) test -c -tags cuda -o $(BIN)/cuda/gpu.test ./gpu/

# gpu-pack: everything the device check needs, in one directory (and a
# tarball) under 64 MiB, to copy to a GPU machine and run there as
# `bash gpu-check.sh` (README, "GPU / device check"): the cuda test binary,
# the cuda prover and verifier, cublas_ref.cu (built there by its nvcc; a
# CUDA 12 build from here rides along for machines without one), the data
# set and scripts/gpu-check.sh. The kernels are the committed fatbin.
PACK      ?= out/gpu-pack
PACK_MAX  := 67108864
gpu-pack: nvcc-version
	rm -rf $(PACK) $(PACK).tar.gz
	mkdir -p $(PACK)/data
	$(CUDA_CGO) $(GO) build -tags cuda -ldflags='-s -w' -o $(PACK)/ ./cmd/prover ./cmd/verifier
	$(CUDA_CGO) $(GO) test -c -tags cuda -ldflags='-s -w' -o $(PACK)/gpu.test ./gpu/
	$(NVCC) -O2 -o $(PACK)/cublas_ref.cuda$(CUDA_VERSION) bench/cublas/cublas_ref.cu -lcublasLt
	$(NVCC) -O2 -std=c++17 -arch=sm_90a -I kernels -o $(PACK)/hopper-check bench/cublas/hopper_check.cu -L$(CUDA_PREFIX)/usr/lib/x86_64-linux-gnu/stubs -lcuda
	cp bench/cublas/cublas_ref.cu scripts/gpu-check.sh $(PACK)/
	cp $(DATA)/train-*-ubyte* $(DATA)/t10k-*-ubyte* $(PACK)/data/
	( echo "commit $$(git rev-parse HEAD)$$(git diff --quiet HEAD || echo ' (with uncommitted changes)')"; \
	  echo "built $$(date -u +%Y-%m-%dT%H:%M:%SZ) with $$($(GO) version | cut -d' ' -f3) and nvcc $(CUDA_VERSION)" ) > $(PACK)/VERSION
	tar -czf $(PACK).tar.gz -C $(dir $(PACK)) $(notdir $(PACK))
	@d=$$(du -sb $(PACK) | cut -f1); t=$$(stat -c %s $(PACK).tar.gz); \
	echo "gpu-pack: $(PACK) $$((d / 1048576)) MiB, $(PACK).tar.gz $$((t / 1048576)) MiB (limit 64 MiB)"; \
	test $$d -lt $(PACK_MAX) && test $$t -lt $(PACK_MAX)

# test-kernels runs every CUDA kernel in kernels/ through the SIMT emulator
# against the CPU backend, and the emulator's own tests.
test-kernels:
	$(GO) test -count=1 -asan -tags emusan ./cgo/emu/ ./gpu/

# bench: the auditors' quick profile (report.md, report.json, plots in out/bench).
bench: build
	$(GO) build $(if $(wildcard /usr/include/dnnl.h),-tags onednn) -o $(BIN)/bench ./cmd/bench
	$(BIN)/bench --quick --out out/bench

# gobench: every go test benchmark, a few iterations each.
gobench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

bench-onednn:
	$(GO) test -tags onednn -run '^$$' -bench . -benchtime 3x ./matmul/onednn/

# generate regenerates the avo kernels (matmul/gemm_amd64.s, field/dot_amd64.s,
# commit/blake3_amd64.s).
generate:
	cd matmul/_asm && $(GO) run . -out ../gemm_amd64.s -stubs ../gemm_amd64_stub.go -pkg matmul
	cd field/_asm && $(GO) run . -out ../dot_amd64.s -stubs ../dot_amd64_stub.go -pkg field
	cd commit/_asm && $(GO) run . -out ../blake3_amd64.s -stubs ../blake3_amd64_stub.go -pkg commit

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./bundle/

clean:
	rm -rf $(BIN) out
