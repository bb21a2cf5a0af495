#!/usr/bin/env bash
# Installs Debian's CUDA 11.8 toolkit (nvcc, cuobjdump) from the non-free
# component, for compiling kernels/ on a machine without a GPU. Idempotent.
set -euo pipefail
command -v nvcc >/dev/null 2>&1 && exit 0
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
if [ -f /etc/apt/sources.list.d/debian.sources ] && ! grep -q non-free /etc/apt/sources.list.d/debian.sources; then
  $SUDO sed -i 's/^Components: main$/Components: main contrib non-free non-free-firmware/' /etc/apt/sources.list.d/debian.sources
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nvidia-cuda-toolkit >/dev/null
nvcc --version | tail -1
