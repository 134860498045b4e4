#!/usr/bin/env python3
"""Tables derived from committed speed files, for docs/performance.md (scripts/docs_tables.py
re-runs them to check the docs):

    scripts/speed_tables.py pytorch DIR
        the table of scripts/compare_pytorch.sh: per (variant, T) our step time and peak RSS
        against PyTorch's, from DIR/ours/speed_*.json (the newest by its timestamped name) and
        DIR/pytorch.json; DIR,DIR,... (rounds of one command) gives each round's times and
        speed-up, and our best round against PyTorch's best
    scripts/speed_tables.py kernel DIR[,DIR...] [DIR[,DIR...] ...]
        the fused kernel's GFLOP/s against the sgemm timed next to it, from each
        DIR/kernel_full_attention.json (`xformer-bench speed --kernel --out DIR`); with several
        directories (rounds of one target), the best kernel rate over the best sgemm rate
    scripts/speed_tables.py isa-standing DIR_FAST[,DIR...] DIR_SLOW[,DIR...] [--without V1,...]
        per variant and length, the slow-down from the speed files in DIR_FAST to those in
        DIR_SLOW (e.g. avx512 -> avx2), and how far that moves the ratio of the worst pair of
        variants (LRA Table 2 standing across instruction sets); with several directories (one
        per round of the same speed command) each cell takes the best round's median step;
        --without adds the worst pair among the other variants
    scripts/speed_tables.py change DIR_BEFORE[,DIR...] DIR_AFTER[,DIR...]
        per variant and length, the median step times of two builds on the same machine and
        target (one directory per round of the same speed command) and the ratio of the best
        after to the best before
"""
import glob
import json
import os
import sys


def die(message):
    """Bad input: the message on stderr and exit code 2, as the CLI does."""
    print(message, file=sys.stderr)
    sys.exit(2)


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        die(f"{path}: {e}")


def newest_speed_file(directory):
    files = sorted(glob.glob(os.path.join(directory, "speed_*.json")))
    if not files:
        die(f"no speed_*.json in {directory}")
    return load(files[-1])


def median_steps(doc):
    return {(r["variant"], r["length"]): r["median_step_s"] for r in doc["records"]}


def one_target(docs, what):
    """The SIMD target shared by the speed files of one group of rounds (exits if they differ)."""
    targets = {doc["environment"]["simd"] for doc in docs}
    if len(targets) != 1:
        die(f"{what}: the rounds ran different SIMD targets ({', '.join(sorted(targets))})")
    return targets.pop()


def speed_rounds(dirs):
    """The newest speed file of each comma-separated directory (rounds of one speed command)
    and the SIMD target they share."""
    docs = [newest_speed_file(d) for d in dirs.split(",")]
    return docs, one_target(docs, dirs)


def pytorch(directory):
    ours = newest_speed_file(os.path.join(directory, "ours"))
    theirs = load(os.path.join(directory, "pytorch.json"))
    env, tenv = ours["environment"], theirs["environment"]
    cpu = env["cpu"] if env["cpu"] == tenv["cpu"] else f"{env['cpu']} (PyTorch: {tenv['cpu']})"
    print(f"CPU: {cpu}; ours: SIMD {env['simd']}, {env['threads']} threads; "
          f"PyTorch {tenv['torch']}, {tenv['threads']} threads, BLAS: {tenv['blas']}")
    print()
    gb = lambda r: r["peak_rss_bytes"] / 2**30
    by_key = {(r["variant"], r["length"]): r for r in theirs["records"]}
    print("| variant | T | ours s | PyTorch s | speedup | ours peak RSS GB | PyTorch peak RSS GB "
          "| RSS ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in ours["records"]:
        t = by_key.get((r["variant"], r["length"]))
        if t is None:
            print(f"| {r['variant']} | {r['length']} | {r['median_step_s']:.3f} | – | – "
                  f"| {gb(r):.3f} | – | – |")
            continue
        print(f"| {r['variant']} | {r['length']} | {r['median_step_s']:.3f} "
              f"| {t['median_step_s']:.3f} | {t['median_step_s'] / r['median_step_s']:.1f}× "
              f"| {gb(r):.3f} | {gb(t):.3f} | {gb(t) / gb(r):.1f}× |")


def pytorch_rounds(dirs):
    """Rounds of one compare_pytorch.sh command: per (variant, T), our and PyTorch's step in each
    round, each round's speed-up, and the best over the best."""
    rounds = [(newest_speed_file(os.path.join(d, "ours")), load(os.path.join(d, "pytorch.json")))
              for d in dirs]
    env, tenv = rounds[0][0]["environment"], rounds[0][1]["environment"]
    simd = one_target([o for o, _ in rounds], ",".join(dirs))
    print(f"CPU: {env['cpu']}; ours: SIMD {simd}, {env['threads']} threads; "
          f"PyTorch {tenv['torch']}, {tenv['threads']} threads; {len(rounds)} rounds; "
          "best = our fastest round against PyTorch's fastest")
    print()
    print("| variant | T | ours s | PyTorch s | speed-up per round | best |")
    print("|---|---:|---:|---:|---:|---:|")
    per = [(median_steps(o), median_steps(t)) for o, t in rounds]
    fmt = lambda xs: " ".join(f"{x:.3f}" for x in xs)
    for k in per[0][0]:
        if not all(k in o and k in t for o, t in per):
            continue
        ours, theirs = [o[k] for o, _ in per], [t[k] for _, t in per]
        ratios = " ".join(f"{b / a:.1f}×" for a, b in zip(ours, theirs))
        print(f"| {k[0]} | {k[1]} | {fmt(ours)} | {fmt(theirs)} | {ratios} "
              f"| {min(theirs) / min(ours):.1f}× |")


def kernel(groups):
    """Each group is DIR or DIR,DIR,... (rounds of one target): per length, the best kernel
    GFLOP/s over the best sgemm GFLOP/s of the rounds."""
    rounds = [g.split(",") for g in groups]
    rows = []  # every file is read before anything is printed
    for dirs in rounds:
        docs = [load(os.path.join(d, "kernel_full_attention.json")) for d in dirs]
        simd = one_target(docs, ",".join(dirs))
        best = {}
        for doc in docs:
            for r in doc["records"]:
                k, peak = best.get(r["length"], (0.0, 0.0))
                best[r["length"]] = (max(k, r["total_gflops"]),
                                     max(peak, r.get("sgemm_gflops", doc["sgemm_gflops"])))
        rows += [(simd, t, k, peak) for t, (k, peak) in best.items()]
    if any(len(r) > 1 for r in rounds):
        print("Best of " + ", ".join(str(len(r)) for r in rounds) + " rounds per target: "
              "the highest kernel rate over the highest sgemm rate timed beside it.")
        print()
    print("| target | T | kernel GFLOP/s | sgemm GFLOP/s | share of sgemm |")
    print("|---|---:|---:|---:|---:|")
    for simd, t, k, peak in rows:
        print(f"| {simd} | {t} | {k:.0f} | {peak:.0f} | {100 * k / peak:.0f}% |")


def worst_pair(factor, variants, t):
    at = {v: factor[(v, t)] for v in variants if (v, t) in factor}
    hi, lo = max(at, key=at.get), min(at, key=at.get)
    return f"{at[hi] / at[lo]:.2f}× ({hi} / {lo})"


def best_steps(dirs):
    """Per (variant, length), the smallest median step over rounds (comma-separated dirs)."""
    docs, _ = speed_rounds(dirs)
    best = {}
    for doc in docs:
        for k, t in median_steps(doc).items():
            best[k] = min(best.get(k, t), t)
    return docs[0], len(docs), best


def isa_standing(fast_dirs, slow_dirs, without):
    fast, n_fast, a = best_steps(fast_dirs)
    slow, n_slow, b = best_steps(slow_dirs)
    keys = [k for k in a if k in b]
    variants = list(dict.fromkeys(v for v, _ in keys))
    lengths = sorted({t for _, t in keys})
    fa, fb = fast["environment"]["simd"], slow["environment"]["simd"]
    rounds = f" (best median of {n_fast} and {n_slow} rounds)" if n_fast + n_slow > 2 else ""
    print(f"Slow-down factor = step s on {fb} / step s on {fa}{rounds}; worst pair = largest "
          "factor / smallest factor among the variants measured on both.")
    print()
    print("| variant | " + " | ".join(f"T = {t}" for t in lengths) + " |")
    print("|---|" + "---:|" * len(lengths))
    factor = {k: b[k] / a[k] for k in keys}
    for v in variants:
        cells = [f"{factor[(v, t)]:.2f}" if (v, t) in factor else "–" for t in lengths]
        print(f"| {v} | " + " | ".join(cells) + " |")
    print("| **worst pair** | " + " | ".join(worst_pair(factor, variants, t) for t in lengths) +
          " |")
    if without:
        rest = [v for v in variants if v not in without]
        print(f"| **worst pair without {', '.join(without)}** | " +
              " | ".join(worst_pair(factor, rest, t) for t in lengths) + " |")


def change(before_dirs, after_dirs):
    """Rounds of the same speed command on two builds: comma-separated directories, one per round."""
    before, before_simd = speed_rounds(before_dirs)
    after, after_simd = speed_rounds(after_dirs)
    if before_simd != after_simd:
        die(f"change: the builds ran different SIMD targets ({before_simd}, {after_simd}); "
            "compare one target at a time")
    env = lambda doc: f"{doc['environment']['git_commit']} ({doc['environment']['simd']})"
    print(f"Before: {env(before[0])}; after: {env(after[0])}; median step s of each round; "
          "ratio = best after / best before.")
    print()
    print("| variant | T | before s | after s | ratio |")
    print("|---|---:|---:|---:|---:|")
    a, b = [median_steps(d) for d in before], [median_steps(d) for d in after]
    for k in a[0]:
        if all(k in x for x in a + b):
            ta, tb = [x[k] for x in a], [x[k] for x in b]
            print(f"| {k[0]} | {k[1]} | {' '.join(f'{t:.3f}' for t in ta)} "
                  f"| {' '.join(f'{t:.3f}' for t in tb)} | {min(tb) / min(ta):.2f} |")


def main():
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "pytorch":
        if "," in args[1]:
            pytorch_rounds(args[1].split(","))
        else:
            pytorch(args[1])
    elif len(args) >= 2 and args[0] == "kernel":
        kernel(args[1:])
    elif len(args) == 3 and args[0] == "change":
        change(args[1], args[2])
    elif len(args) == 3 and args[0] == "isa-standing":
        isa_standing(args[1], args[2], [])
    elif len(args) == 5 and args[0] == "isa-standing" and args[3] == "--without":
        isa_standing(args[1], args[2], args[4].split(","))
    else:
        die(__doc__.strip())


if __name__ == "__main__":
    main()
