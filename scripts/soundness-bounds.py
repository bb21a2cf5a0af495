#!/usr/bin/env python3
"""Per-try escape bounds of protocol v2's sampled mode (docs/SOUNDNESS.md §4).

For a training step the only work a cheater can skip unseen is rows of DW:
each skipped row of layer l saves b·d_l multiply-accumulates and is caught
when its row is sampled. miss(n, k, s) = C(n−k, s)/C(n, s) is the chance
that s rows drawn without replacement from n miss k given rows.
"""
from math import comb, log, log2


def miss(n, k, s):
    if s >= n:
        return 0.0 if k > 0 else 1.0
    return comb(n - k, s) / comb(n, s)


def cheapest_cheat(dims, batch, s, frac):
    """Bad DW rows, placed where detection per saved MAC is lowest, that
    save frac of the step's MACs; returns (rows per layer, log2 escape)."""
    L = len(dims) - 1
    fwd = sum(batch * dims[l - 1] * dims[l] for l in range(1, L + 1))
    back = sum(batch * dims[l] * dims[l - 1] for l in range(2, L + 1))
    need = frac * (2 * fwd + back)
    layers = sorted((-log(1 - s / dims[l - 1]) / (batch * dims[l]), l)
                    for l in range(1, L + 1) if s < dims[l - 1])
    rows, logp = [], 0.0
    for _, l in layers:
        n, per = dims[l - 1], batch * dims[l]
        k = min(n, -(-int(need) // per))
        rows.append((l, k))
        logp += log2(miss(n, k, s)) if miss(n, k, s) > 0 else float("-inf")
        need -= k * per
        if need <= 0:
            return rows, logp
    return rows, float("-inf")


def main():
    print("| model, batch | s | cheat saving 10 % of the step | escape a try |")
    print("|---|---|---|---|")
    for dims, b in [([784, 256, 128, 10], 128), ([784, 4096, 4096, 10], 128)]:
        for s in [16, 32, 64, 128, 280]:
            rows, lp = cheapest_cheat(dims, b, s, 0.10)
            what = ", ".join(f"{k} rows of DW_{l}" for l, k in rows)
            print(f"| {'-'.join(map(str, dims))}, {b} | {s} | {what} | 2^{lp:.1f} |")
    for n in [1024, 4096, 16384]:
        for s in [32, 280]:
            k = n // 10
            print(f"| matmul {n}³ | {s} | {k} rows of C | 2^{log2(miss(n, k, s)):.1f} |")
    print()
    print("one bad row escapes a try with probability 1 − s/n:")
    for n in [128, 256, 784, 4096]:
        print(f"  n = {n}: " + ", ".join(f"s={s}: {miss(n, 1, s):.3f}" for s in [16, 32, 128, 280]))


if __name__ == "__main__":
    main()
