#!/usr/bin/env bash
# gpu-check.sh: the device check. Whoever has a GPU at hand runs this one
# script, from the directory `make gpu-pack` builds (out/gpu-pack, or its
# tarball unpacked), and nothing else:
#
#   bash gpu-check.sh [--out DIR] [--budget SECONDS] [--dry-run]
#
# It writes DIR/gpu-check.md (default DIR: $OUT if set, else ./gpu-check-out)
# and DIR/gpu-check-logs.txt, and covers, each section time-boxed (timeout)
# and run whether or not the one before it passed:
#   machine     the GPU, driver, nvcc, compute-sanitizer
#   cublas      bench/cublas/cublas_ref.cu built with the machine's nvcc
#               (else the CUDA 12 build from the pack, if its libraries load)
#   suite       the gpu test binary (emulator and real device, bit for bit
#               against the CPU; a missing device is a failure; on sm_90 it
#               includes TestHopperGEMMOnDevice)
#   hopper      sm_90 only: hopper-check (gemm_s8_sm90 and its fused-hash
#               variant against gemm_s8_tc and the CPU, TOPS at n = 1024 …
#               16384), and prover matmul with TRAINPROOF_GPU_GEMM=sm90
#               against the cpu bundle, byte for byte
#   large       prover matmul --n 1024 … 8192 on cpu and cuda: the bundles
#               (Merkle roots over every row of C) must be byte-identical
#   tops        our GEMM (gpu.test BenchmarkGEMM, with the prover's device
#               overhead share) beside cuBLASLt at n = 1024 … 16384
#   prover      prover train on cpu and cuda, default and 4096-wide models:
#               byte-identical bundles, timings, the verifier accepts them
#   memcheck    compute-sanitizer --tool memcheck on the device tests
#   racecheck   compute-sanitizer --tool racecheck on the device tests
# The whole run keeps within --budget seconds (default 330, under the 6
# minutes it is allowed): a section gets its own limit or what is left,
# whichever is less, and is skipped when too little is left. The exit status
# is 0 when every section that ran passed.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PACK=$HERE
DRY=
BUDGET=${GPU_CHECK_BUDGET:-330}
OUTDIR=${OUT:-$PWD/gpu-check-out}
while [ $# -gt 0 ]; do
  case $1 in
  --dry-run) DRY=1 ;;
  --out) OUTDIR=$2; shift ;;
  --budget) BUDGET=$2; shift ;;
  --pack) PACK=$(cd "$2" && pwd); shift ;;
  -h | --help) sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "gpu-check: error: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
# Run from the repository (scripts/gpu-check.sh), the pack is out/gpu-pack.
if [ ! -e "$PACK/gpu.test" ] && [ -d "$HERE/../out/gpu-pack" ]; then PACK=$(cd "$HERE/../out/gpu-pack" && pwd); fi

# Section limits in seconds, in the order they run.
SECTIONS=(machine:15 cublas:40 suite:90 hopper:45 large:40 tops:45 prover:60 memcheck:40 racecheck:40)
SANITIZE_RUN=${SANITIZE_RUN:-EqualsCPU/cuda} # gpu.test -test.run pattern under compute-sanitizer
LARGE_N=${LARGE_N:-1024 2048 4096 8192}
TOPS_N=${TOPS_N:-1024 2048 4096 8192 16384}
TRAIN_STEPS=${TRAIN_STEPS:-100}
WIDE_STEPS=${WIDE_STEPS:-20}

WORK=$(mktemp -d /tmp/gpu-check.XXXXXX)
GPU=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null) && GPU=$(echo "$GPU" | head -1) ||
  GPU="no GPU found by nvidia-smi"
START=$SECONDS
export PACK WORK LARGE_N TOPS_N TRAIN_STEPS WIDE_STEPS SANITIZE_RUN

# find_nvcc: the machine's nvcc (PATH, then the usual install places).
find_nvcc() {
  local c
  for c in "$(command -v nvcc 2>/dev/null)" /usr/local/cuda/bin/nvcc /usr/local/cuda-*/bin/nvcc; do
    [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
  done
  return 1
}
find_sanitizer() {
  local c n
  c=$(command -v compute-sanitizer 2>/dev/null) && { echo "$c"; return 0; }
  n=$(find_nvcc) && [ -x "$(dirname "$n")/compute-sanitizer" ] && { echo "$(dirname "$n")/compute-sanitizer"; return 0; }
  for c in /usr/local/cuda/compute-sanitizer/compute-sanitizer /usr/local/cuda-*/compute-sanitizer/compute-sanitizer; do
    [ -x "$c" ] && { echo "$c"; return 0; }
  done
  return 1
}
# now: seconds since the epoch, with nanoseconds.
now() { date +%s.%N; }
# since T0: seconds since T0, two decimals.
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }
# note LINE...: a line of the section's part of the report.
note() { printf '%s\n' "$@" >>"$WORK/$SECTION.md"; }
export -f find_nvcc find_sanitizer now since note

section_machine() {
  note '```'
  { nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,compute_cap --format=csv 2>&1 || echo "nvidia-smi failed"
    echo "nvcc: $( (n=$(find_nvcc) && "$n" --version | tail -2 | head -1) || echo none)"
    echo "compute-sanitizer: $(find_sanitizer || echo none)"
    echo "host: $(nproc) CPUs, $(uname -srm)"
    cat "$PACK/VERSION" 2>/dev/null; } >>"$WORK/$SECTION.md"
  note '```'
  nvidia-smi -L
}

section_cublas() {
  local n
  if n=$(find_nvcc); then
    echo "building cublas_ref with $n"
    "$n" -O2 -o "$WORK/cublas_ref" "$PACK/cublas_ref.cu" -lcublasLt || return 1
    note "cublas_ref built with $("$n" --version | tail -2 | head -1)."
  elif [ -x "$PACK"/cublas_ref.cuda* ] && ! ldd "$PACK"/cublas_ref.cuda* | grep -q 'not found'; then
    cp "$PACK"/cublas_ref.cuda* "$WORK/cublas_ref"
    note "no nvcc here: using the pack's $(basename "$PACK"/cublas_ref.cuda*) (its libraries load)."
  else
    note "skipped: no nvcc on this machine, and the pack's CUDA 12 cublas_ref cannot load its libraries here; the tops section shows ours alone."
    ldd "$PACK"/cublas_ref.cuda* 2>&1 | grep 'not found'
    return 3
  fi
  "$WORK/cublas_ref" 1024
}

section_suite() {
  local t=$(($1 - 5)) rc
  (cd "$WORK" && "$PACK/gpu.test" -test.count=1 -test.v -test.timeout "${t}s") >"$WORK/suite.out" 2>&1
  rc=$?
  cat "$WORK/suite.out"
  grep -q -- '^--- ' "$WORK/suite.out" || note "The test binary ran no test: $(tail -1 "$WORK/suite.out")"
  note "$(grep -c '^--- PASS' "$WORK/suite.out") tests passed, $(grep -c -- '--- FAIL' "$WORK/suite.out") failed, $(grep -c -- '--- SKIP' "$WORK/suite.out") skipped (top level; subtests run per device: emu and cuda)."
  grep -E -- '--- FAIL|^panic|^FAIL' "$WORK/suite.out" | head -20 | sed 's/^/    /' >>"$WORK/$SECTION.md"
  return $rc
}

# prove_both NAME ARGS...: run the prover on cpu and on cuda with the same
# key, and compare what they wrote byte for byte.
prove_both() {
  local name=$1 b t0 rc=0
  shift
  for b in cpu cuda; do
    t0=$(now)
    "$PACK/prover" "$@" --backend "$b" --key "$WORK/miner.key" --json --out "$WORK/$name.$b" >"$WORK/$name.$b.json" 2>"$WORK/$name.$b.err" || {
      echo "prover $* --backend $b failed:"; tail -5 "$WORK/$name.$b.err"; rc=1; }
    since "$t0" >"$WORK/$name.$b.wall"
  done
  if [ $rc -ne 0 ]; then
    echo "not compared (a run failed)" >"$WORK/$name.same"
    rc=1
  elif [ -d "$WORK/$name.cpu" ]; then
    diff -rq "$WORK/$name.cpu" "$WORK/$name.cuda" && echo identical >"$WORK/$name.same" || { echo DIFFERENT >"$WORK/$name.same"; rc=1; }
  else
    cmp "$WORK/$name.cpu" "$WORK/$name.cuda" && echo identical >"$WORK/$name.same" || { echo DIFFERENT >"$WORK/$name.same"; rc=1; }
  fi
  return $rc
}
jfield() { sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" "$1" | tr -d '"'; }
export -f prove_both jfield

section_large() {
  local n rc=0
  [ -f "$WORK/miner.key" ] || "$PACK/prover" keygen --out "$WORK/miner.key" >/dev/null || return 1
  note "| n | cpu s | cuda s | cpu GOPS | cuda GOPS | bundles |" "|---|---|---|---|---|---|"
  for n in $LARGE_N; do
    prove_both "matmul$n" matmul --n "$n" || rc=1
    note "| $n | $(cat "$WORK/matmul$n.cpu.wall") | $(cat "$WORK/matmul$n.cuda.wall") | $(jfield "$WORK/matmul$n.cpu.json" gops | cut -c1-7) | $(jfield "$WORK/matmul$n.cuda.json" gops | cut -c1-7) | $(cat "$WORK/matmul$n.same") |"
  done
  return $rc
}

section_hopper() {
  local cc rc=0 n
  cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1)
  if [ "${cc%%.*}" != 9 ]; then note "skipped: compute capability ${cc:-unknown}, the Hopper GEMM needs 9.0."; return 3; fi
  (cd "$WORK" && timeout "$(($1 * 2 / 3))" "$PACK/hopper-check") 2>&1 | tee "$WORK/hopper.out" || rc=1
  note '```' "$(cat "$WORK/hopper.out")" '```'
  [ -f "$WORK/miner.key" ] || "$PACK/prover" keygen --out "$WORK/miner.key" >/dev/null || return 1
  for n in 1024 4096; do
    "$PACK/prover" matmul --n "$n" --backend cpu --key "$WORK/miner.key" --out "$WORK/h$n.cpu.tpb" >/dev/null 2>&1 || rc=1
    TRAINPROOF_GPU_GEMM=sm90 "$PACK/prover" matmul --n "$n" --backend cuda --key "$WORK/miner.key" --out "$WORK/h$n.sm90.tpb" >"$WORK/h$n.sm90.out" 2>&1 || rc=1
    if cmp -s "$WORK/h$n.cpu.tpb" "$WORK/h$n.sm90.tpb"; then note "prover matmul --n $n with the Hopper GEMM: bundle identical to the cpu one."; else note "prover matmul --n $n with the Hopper GEMM: bundles DIFFER."; rc=1; fi
  done
  return $rc
}

section_tops() {
  local rc=0 n ours over ref
  (cd "$WORK" && "$PACK/gpu.test" -test.run '^$' -test.bench 'BenchmarkGEMM/cuda' -test.benchtime 5x -test.timeout "$(($1 - 10))s") 2>&1 | tee "$WORK/bench.out" || rc=1
  grep -q '^PASS$' "$WORK/bench.out" || rc=1
  if [ -x "$WORK/cublas_ref" ]; then
    # shellcheck disable=SC2086
    "$WORK/cublas_ref" $TOPS_N | tee "$WORK/cublas.out" || rc=1
  fi
  note "| n | ours TOPS | device overhead (hash rows + project) % of GEMM | cuBLASLt TOPS | ours / cuBLASLt |" "|---|---|---|---|---|"
  for n in $TOPS_N; do
    ours=$(awk -v n="n=$n" '$1 ~ n"(-[0-9]+)?$" {for (i=1;i<=NF;i++) if ($(i+1)=="TOPS") print $i}' "$WORK/bench.out" | head -1)
    over=$(awk -v n="n=$n" '$1 ~ n"(-[0-9]+)?$" {for (i=1;i<=NF;i++) if ($(i+1)=="overhead-%") print $i}' "$WORK/bench.out" | head -1)
    ref=$(sed -n "s/.*\"n\":$n,.*\"tops\":\([0-9.]*\).*/\1/p" "$WORK/cublas.out" 2>/dev/null | head -1)
    note "| $n | ${ours:-–} | ${over:-–} | ${ref:-–} | $(awk -v a="$ours" -v b="$ref" 'BEGIN{ if (a != "" && b+0 > 0) printf "%.0f %%", 100*a/b; else printf "–" }') |"
  done
  return $rc
}

section_prover() {
  local rc=0 name b
  [ -f "$WORK/miner.key" ] || "$PACK/prover" keygen --out "$WORK/miner.key" >/dev/null || return 1
  prove_both train-default train --steps "$TRAIN_STEPS" --data "$PACK/data" || rc=1
  prove_both train-wide train --steps "$WIDE_STEPS" --layers 4096,4096 --data "$PACK/data" || rc=1
  note "| run | backend | wall s | train s | prove s | steps/s | bundles | verifier |" "|---|---|---|---|---|---|---|---|"
  for name in train-default train-wide; do
    for b in cpu cuda; do
      local v=–
      if [ -s "$WORK/$name.$b.json" ] && [ -f "$WORK/$name.$b/task.id" ]; then
        if "$PACK/verifier" verify --task "$(cat "$WORK/$name.$b/task.id")" --key "$WORK/miner.key.pub" "$WORK/$name.$b" >"$WORK/$name.$b.verify" 2>&1; then v=accepts; else v=REJECTS; rc=1; fi
      fi
      note "| $name ($( [ $name = train-wide ] && echo "784-4096-4096-10, steps: $WIDE_STEPS" || echo "default model, steps: $TRAIN_STEPS")) | $b | $(cat "$WORK/$name.$b.wall") | $(jfield "$WORK/$name.$b.json" train_seconds | cut -c1-6) | $(jfield "$WORK/$name.$b.json" prove_seconds | cut -c1-6) | $(jfield "$WORK/$name.$b.json" steps_per_second | cut -c1-6) | $(cat "$WORK/$name.same") | $v |"
    done
  done
  return $rc
}

sanitize() {
  local tool=$1 t=$2 cs
  cs=$(find_sanitizer) || { note "skipped: no compute-sanitizer on this machine."; return 3; }
  (cd "$WORK" && "$cs" --tool "$tool" --error-exitcode 9 "$PACK/gpu.test" -test.count=1 -test.v -test.run "$SANITIZE_RUN" -test.timeout "$((t - 10))s") >"$WORK/$tool.out" 2>&1
  local rc=$?
  cat "$WORK/$tool.out"
  local summary
  summary=$(grep -E '^========= (ERROR SUMMARY|RACECHECK SUMMARY)' "$WORK/$tool.out" | tail -1 | sed 's/^========= //')
  note "\`compute-sanitizer --tool $tool gpu.test -test.run '$SANITIZE_RUN'\`: ${summary:-no summary (see below)}"
  return $rc
}
section_memcheck() { sanitize memcheck "$1"; }
section_racecheck() { sanitize racecheck "$1"; }
export -f section_machine section_cublas section_suite section_hopper section_large section_tops section_prover sanitize section_memcheck section_racecheck

# write_report: the report as it stands (rewritten after every section, so a
# run cut short still leaves one).
write_report() {
  mkdir -p "$OUTDIR"
  {
    echo "# trainproof device check"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $GPU, pack: $(head -1 "$PACK/VERSION" 2>/dev/null || echo unknown); $((SECONDS - START)) s of a $BUDGET s budget."
    echo
    echo "| section | status | seconds | limit |"
    echo "|---|---|---|---|"
    cat "$WORK/summary" 2>/dev/null
    for s in "${SECTIONS[@]}"; do
      s=${s%%:*}
      [ -s "$WORK/$s.md" ] || continue
      echo
      echo "## $s"
      echo
      cat "$WORK/$s.md"
    done
  } >"$OUTDIR/gpu-check.md"
  for s in "${SECTIONS[@]}"; do
    s=${s%%:*}
    [ -f "$WORK/$s.log" ] && { echo "===== $s"; cat "$WORK/$s.log"; }
  done >"$OUTDIR/gpu-check-logs.txt"
}

if [ -n "$DRY" ]; then
  echo "gpu-check: dry run: pack $PACK, report $OUTDIR/gpu-check.md, budget $BUDGET s"
  for f in gpu.test prover verifier cublas_ref.cu hopper-check data/train-images-idx3-ubyte.gz VERSION; do
    if [ -e "$PACK/$f" ] || [ -e "$PACK/${f%.gz}" ]; then echo "  have    $f"; else echo "  MISSING $f (make gpu-pack)"; fi
  done
  echo "  nvcc: $(find_nvcc || echo 'none (cublas: the pack'"'"'s CUDA 12 build if its libraries load, else skipped)')"
  echo "  compute-sanitizer: $(find_sanitizer || echo 'none (memcheck and racecheck skipped)')"
  echo "  nvidia-smi: $(command -v nvidia-smi || echo none)"
  total=0
  for s in "${SECTIONS[@]}"; do
    name=${s%%:*} lim=${s#*:}
    total=$((total + lim))
    case $name in
    machine) what="nvidia-smi; nvcc --version; compute-sanitizer; nproc" ;;
    cublas) what="nvcc -O2 -o cublas_ref cublas_ref.cu -lcublasLt; cublas_ref 1024" ;;
    suite) what="gpu.test -test.count=1 -test.v" ;;
    hopper) what="sm_90 only: hopper-check; TRAINPROOF_GPU_GEMM=sm90 prover matmul --n 1024|4096 vs cpu, cmp" ;;
    large) what="for n in $LARGE_N: prover matmul --n n --backend cpu|cuda --key K; cmp the bundles" ;;
    tops) what="gpu.test -test.run '^\$' -test.bench BenchmarkGEMM/cuda -test.benchtime 5x; cublas_ref $TOPS_N" ;;
    prover) what="prover train --steps $TRAIN_STEPS and --layers 4096,4096 --steps $WIDE_STEPS, --backend cpu|cuda; diff -r; verifier verify" ;;
    memcheck | racecheck) what="compute-sanitizer --tool $name gpu.test -test.run '$SANITIZE_RUN'" ;;
    esac
    printf '  %-9s %4s s  %s\n' "$name" "$lim" "$what"
  done
  echo "  sum of section limits $total s; the run stops starting sections at $BUDGET s"
  rm -rf "$WORK"
  exit 0
fi

fails=0
for s in "${SECTIONS[@]}"; do
  SECTION=${s%%:*} lim=${s#*:}
  export SECTION
  left=$((BUDGET - (SECONDS - START) - 5))
  [ "$lim" -gt "$left" ] && lim=$left
  if [ "$lim" -lt 10 ]; then
    echo "| $SECTION | skipped: out of time | 0 | – |" >>"$WORK/summary"
    write_report
    continue
  fi
  echo "gpu-check: $SECTION (limit $lim s)" >&2
  t0=$SECONDS
  timeout -k 5 "$lim" bash -o pipefail -c "section_$SECTION $lim" >"$WORK/$SECTION.log" 2>&1
  rc=$?
  case $rc in
  0) status=ok ;;
  3) status=skipped ;;
  124 | 137) status="**TIMEOUT**"; fails=$((fails + 1)); note "cut off at the section's limit of $lim s (the log has what it printed)." ;;
  *) status="**FAIL** (exit $rc)"; fails=$((fails + 1)) ;;
  esac
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
    note "" "The log's last lines:" '```'
    tail -8 "$WORK/$SECTION.log" | cut -c1-300 >>"$WORK/$SECTION.md"
    note '```'
  fi
  echo "| $SECTION | $status | $((SECONDS - t0)) | $lim |" >>"$WORK/summary"
  echo "gpu-check: $SECTION: $status ($((SECONDS - t0)) s)" >&2
  write_report
done
echo "gpu-check: report in $OUTDIR/gpu-check.md ($((SECONDS - START)) s, $fails sections failed)" >&2
rm -rf "$WORK"
[ "$fails" -eq 0 ]
