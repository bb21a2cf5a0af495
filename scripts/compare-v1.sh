#!/usr/bin/env bash
# compare-v1.sh: bundle size and verify time of protocol v1 (the last v1
# commit, built from this repository's history) and of v2 (HEAD, or $V2_REV),
# side by side in one run, on the same machine and data.
#
#   scripts/compare-v1.sh [STEPS] [V1_SAMPLES] [V2_SAMPLES] [LAYERS] [BATCH]
#
# Defaults: 30 steps of the default model, v1 at its CLI default (32 samples),
# v2 at its default (128). Prints one table row per protocol.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-30}; s1=${2:-32}; s2=${3:-128}; layers=${4:-256,128}; batch=${5:-128}
data=${DATA:-/usr/share/datasets/fashion-mnist}
v1=3caf8ea # last commit of protocol v1
tmp=$(mktemp -d)
trap 'git worktree remove --force "$tmp/src" >/dev/null 2>&1; git worktree remove --force "$tmp/src2" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
git worktree add -q --detach "$tmp/src" "$v1"
(cd "$tmp/src" && go build -o "$tmp/v1/" ./cmd/prover ./cmd/verifier)
git worktree add -q --detach "$tmp/src2" "${V2_REV:-HEAD}"
(cd "$tmp/src2" && go build -o "$tmp/v2/" ./cmd/prover ./cmd/verifier)
run() { # name bindir samples taskflag
  local out="$tmp/out-$1"
  "$2/prover" train --steps "$steps" --samples "$3" --layers "$layers" --batch "$batch" --out "$out" --data "$data" --json > "$tmp/$1.json"
  local flag=""
  [ "$4" = yes ] && flag="--task $(cat "$out/task.id")"
  local best=""
  for _ in 1 2 3; do
    t=$("$2/verifier" verify $flag --json "$out" | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["rejected"]==0; print(sum(x["seconds"] for x in r["results"])/len(r["results"])*1000)')
    best=$(python3 -c "print(min(float('$t'), float('${best:-1e9}')))")
  done
  python3 - "$tmp/$1.json" "$1" "$3" "$best" "$steps" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); name, s, ms, steps = sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
per_step = (j["train_seconds"] + j["prove_seconds"]) / steps * 1000
print(f"| {name} | {s} | {j['bundle_bytes']/steps/1024:.0f} KiB | {ms:.2f} ms | {per_step:.2f} ms | {100*ms/per_step:.0f} % |")
PY
}
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; layers 784-${layers//,/-}-10, batch $batch, $steps steps"
echo "| protocol | samples | bundle | verify a bundle (best of 3) | train + prove a step | verify / step |"
echo "|---|---|---|---|---|---|"
run v1 "$tmp/v1" "$s1" no
run v2 "$tmp/v2" "$s2" yes
