#!/usr/bin/env bash
# Installs CUDA 12.4 (Debian 13 "trixie" non-free, nvidia-cuda-toolkit
# 12.4.131~12.4.1-2) into a private prefix on a Debian 12 machine without a
# GPU, for compiling kernels/ for sm_80 and sm_90a (Hopper's wgmma needs
# CUDA >= 12.0; Debian 12's own toolkit is 11.8). Nothing outside the prefix
# and the download cache changes: no apt source is added to the system, no
# package is installed, /usr/bin/nvcc and /etc/nvcc.profile are left alone.
#
#   scripts/install-cuda-toolkit.sh            installs (idempotent), prints the prefix
#   CUDA_PREFIX=DIR CUDA_CACHE=DIR scripts/install-cuda-toolkit.sh
#
# How: a private apt configuration (its own sources.list naming trixie, its
# own lists and cache under CUDA_CACHE) lets `apt-get download` fetch the
# .debs, verified against trixie's signed Release file with the Debian archive
# keyring; `dpkg -x` unpacks them into the prefix. nvidia-cuda-dev is 934 MB,
# 2.5 GB of it static libraries nvcc does not need to compile kernels: those
# are left out (libcudart_static.a, libcudadevrt.a and libculibos.a stay so
# nvcc can still link a program). The unpacked bin/nvcc.profile is a symlink to
# the system's /etc/nvcc.profile; it is replaced by a file whose paths are all
# relative to the prefix, so this nvcc finds its own ptxas, cicc, libdevice and
# headers, and the system's nvcc is untouched.
set -euo pipefail

CUDA_VERSION=12.4.131 # what the prefix's `nvcc --version` must report (V12.4.131)
DEBS=(
  nvidia-cuda-toolkit=12.4.131~12.4.1-2 # nvcc, cicc, ptxas, fatbinary, nvlink, cuobjdump, compute-sanitizer
  libnvvm4=12.4.131~12.4.1-2            # libnvvm.so.4
  libcudart12=12.4.127~12.4.1-2         # libcudart.so.12
  nvidia-cuda-dev=12.4.127~12.4.1-2     # headers, stub libraries (libcuda.so, libcublasLt.so)
)
PREFIX=${CUDA_PREFIX:-/opt/trainproof/cuda-12.4}
CACHE=${CUDA_CACHE:-/var/cache/trainproof/cuda-12.4}
NVCC=$PREFIX/usr/lib/nvidia-cuda-toolkit/bin/nvcc

installed() {
  [ -f "$PREFIX/.installed" ] && [ -x "$NVCC" ] &&
    "$NVCC" --version 2>/dev/null | grep -q ", V$CUDA_VERSION\$"
}
if installed; then
  echo "CUDA $CUDA_VERSION in $PREFIX (already installed; nvcc: $PREFIX/bin/nvcc)"
  exit 0
fi
start=$SECONDS

# 1. The .debs, downloaded once into CACHE/debs (kept for re-runs).
mkdir -p "$CACHE/debs" "$CACHE/apt/lists/partial" "$CACHE/apt/cache/archives/partial" \
  "$CACHE/apt/sources.list.d" "$CACHE/apt/preferences.d" "$CACHE/download"
want=()
for d in "${DEBS[@]}"; do
  name=${d%%=*} ver=${d#*=}
  f="$CACHE/debs/${name}_${ver//:/%3a}_amd64.deb"
  [ -s "$f" ] || want+=("$d")
done
if [ ${#want[@]} -gt 0 ]; then
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  if [ ! -s "$keyring" ]; then
    echo "install-cuda-toolkit: error: $keyring is missing (apt-get install debian-archive-keyring)" >&2
    exit 1
  fi
  echo "deb [signed-by=$keyring] http://deb.debian.org/debian trixie non-free" >"$CACHE/apt/sources.list"
  apt_private=(
    -o "Dir::Etc::SourceList=$CACHE/apt/sources.list"
    -o "Dir::Etc::SourceParts=$CACHE/apt/sources.list.d"
    -o "Dir::Etc::Preferences=$CACHE/apt/preferences"
    -o "Dir::Etc::PreferencesParts=$CACHE/apt/preferences.d"
    -o "Dir::State::Lists=$CACHE/apt/lists"
    -o "Dir::Cache=$CACHE/apt/cache"
    -o "Dir::State::status=/var/lib/dpkg/status"
    -o "APT::Architecture=amd64"
    -o "Acquire::Languages=none"
    -o "APT::Sandbox::User=root"
  )
  echo "install-cuda-toolkit: downloading ${want[*]} (Debian 13 non-free, about 1 GB)"
  apt-get "${apt_private[@]}" -qq update
  rm -f "$CACHE"/download/*.deb
  (cd "$CACHE/download" && apt-get "${apt_private[@]}" -qq download "${want[@]}")
  mv "$CACHE"/download/*.deb "$CACHE/debs/"
fi

# 2. Unpack into a fresh directory beside the prefix, then move it into place.
tmp="$PREFIX.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
for d in "${DEBS[@]}"; do
  name=${d%%=*} ver=${d#*=}
  f="$CACHE/debs/${name}_${ver//:/%3a}_amd64.deb"
  if [ "$name" = nvidia-cuda-dev ]; then
    # dpkg -x without the static libraries: the same tar stream, filtered.
    dpkg-deb --fsys-tarfile "$f" | tar -x -C "$tmp" --wildcards --no-wildcards-match-slash \
      './usr/include' './usr/share/doc' './usr/lib/x86_64-linux-gnu/*.so*' \
      './usr/lib/x86_64-linux-gnu/stubs' './usr/lib/x86_64-linux-gnu/pkgconfig' \
      './usr/lib/x86_64-linux-gnu/libcudart_static.a' './usr/lib/x86_64-linux-gnu/libcudadevrt.a' \
      './usr/lib/x86_64-linux-gnu/libculibos.a'
  else
    dpkg -x "$f" "$tmp"
  fi
done

# 3. The prefix's own nvcc.profile (never write through the unpacked link:
# it points at the system's /etc/nvcc.profile).
bindir="$tmp/usr/lib/nvidia-cuda-toolkit/bin"
rm -f "$bindir/nvcc.profile"
cat >"$bindir/nvcc.profile" <<'EOF'
# nvcc.profile of a private CUDA 12.4 prefix (scripts/install-cuda-toolkit.sh).
# Every path is relative to this file (_HERE_ = PREFIX/usr/lib/nvidia-cuda-toolkit/bin),
# so this nvcc runs its own cicc, ptxas, fatbinary and nvlink and reads its own
# headers and libdevice, never /usr's.
NVVMIR_LIBRARY_DIR = $(_HERE_)/../libdevice

PATH		+= $(_HERE_):$(_HERE_)/../../../bin:

INCLUDES	+= "-I$(_HERE_)/../../../include" $(_SPACE_)

LIBRARIES	=+ $(_SPACE_) "-L$(_HERE_)/../../x86_64-linux-gnu/stubs" "-L$(_HERE_)/../../x86_64-linux-gnu"
EOF
# PREFIX/bin: nvcc must be started from its real directory (nvcc finds its
# profile through _HERE_, which a symlink would change), so a small wrapper;
# the other tools are links.
mkdir -p "$tmp/bin"
cat >"$tmp/bin/nvcc" <<'EOF'
#!/bin/sh
here=$(dirname "$(readlink -f "$0")")
exec "$here/../usr/lib/nvidia-cuda-toolkit/bin/nvcc" "$@"
EOF
chmod +x "$tmp/bin/nvcc"
for t in cuobjdump nvdisasm ptxas fatbinary nvlink compute-sanitizer; do
  ln -s "../usr/bin/$t" "$tmp/bin/$t"
done
if find "$tmp" -type l -lname '/*' | grep -q .; then
  echo "install-cuda-toolkit: error: absolute links left in the prefix:" >&2
  find "$tmp" -type l -lname '/*' >&2
  exit 1
fi
"$tmp/bin/nvcc" --version | grep -q ", V$CUDA_VERSION\$" || {
  echo "install-cuda-toolkit: error: the unpacked nvcc is not $CUDA_VERSION:" >&2
  "$tmp/bin/nvcc" --version >&2
  exit 1
}
rm -f "$tmp/etc/nvcc.profile" # the package's system-wide profile, unused here
touch "$tmp/.installed"
rm -rf "$PREFIX"
mkdir -p "$(dirname "$PREFIX")"
mv "$tmp" "$PREFIX"
trap - EXIT
echo "CUDA $CUDA_VERSION in $PREFIX ($((SECONDS - start)) s; nvcc: $PREFIX/bin/nvcc, .debs cached in $CACHE/debs)"
