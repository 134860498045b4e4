#!/usr/bin/env python3
"""The table of scripts/compare_pytorch.sh: per (variant, T) our step time and peak RSS against
PyTorch's, from OURS_DIR/speed_*.json (the newest by its timestamped name) and PYTORCH_JSON.

    scripts/compare_pytorch_table.py OURS_DIR PYTORCH_JSON
"""
import glob
import json
import os
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"{path}: {e}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip())
    ours_dir, pytorch_path = sys.argv[1:]
    files = sorted(glob.glob(os.path.join(ours_dir, "speed_*.json")))
    if not files:
        sys.exit(f"no speed_*.json in {ours_dir}")
    ours, theirs = load(files[-1]), load(pytorch_path)
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


if __name__ == "__main__":
    main()
