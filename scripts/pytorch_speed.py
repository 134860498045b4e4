#!/usr/bin/python3
"""PyTorch eager reference for `xformer-bench speed`: the same benchmark model (configs/speed/
core.json: d 128, 4 heads, 2 pre-LN layers, FFN 256, dropout 0.1, vocabulary 17, batch 8,
AdamW, clipping 1.0) written in plain PyTorch, one training step timed per measurement.

Each mechanism is written the way a PyTorch user would write it (batched tensor ops, no custom
kernels), with the same default options as xformer-bench. Needs Debian's python3-torch
(`apt-get install -y python3-torch`; not needed by the build or the tests).

    /usr/bin/python3 scripts/pytorch_speed.py --variants full,linear --lengths 1024,4096 --steps 3
    /usr/bin/python3 scripts/pytorch_speed.py --check   # mechanisms against masked full attention
"""
import argparse
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def split_heads(x, heads):
    b, t, c = x.shape
    return x.view(b, t, heads, c // heads).transpose(1, 2)  # (B, H, T, D)


def softmax_attention(q, k, v, mask=None):
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
    return torch.softmax(s, dim=-1) @ v


class Attention(nn.Module):
    """Q/K/V projection, one mechanism, output projection."""

    def __init__(self, variant, dim, heads, length, opts):
        super().__init__()
        self.variant, self.heads, self.opts = variant, heads, opts
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        d = dim // heads
        if variant == "linformer":
            k = opts["k"]
            self.e = nn.Parameter(torch.randn(k, length) / math.sqrt(k))
            self.f = nn.Parameter(torch.randn(k, length) / math.sqrt(k))
        if variant == "performer":
            m = opts["features"]
            blocks = [torch.linalg.qr(torch.randn(d, d))[0] for _ in range((m + d - 1) // d)]
            w = torch.cat(blocks, 0)[:m] * torch.randn(m, d).norm(dim=1, keepdim=True)
            self.register_buffer("w", w)

    def forward(self, x):
        q, k, v = (split_heads(t, self.heads) for t in self.qkv(x).chunk(3, dim=-1))
        o = getattr(self, "mix_" + self.variant)(q, k, v)
        b, h, t, d = o.shape
        return self.out(o.transpose(1, 2).reshape(b, t, h * d))

    def mix_full(self, q, k, v):
        return softmax_attention(q, k, v)

    def mix_linear(self, q, k, v):
        q, k = F.elu(q) + 1, F.elu(k) + 1
        kv = k.transpose(-1, -2) @ v  # (B, H, D, D)
        z = q @ k.sum(dim=2, keepdim=True).transpose(-1, -2)  # (B, H, T, 1)
        return (q @ kv) / z

    def mix_local(self, q, k, v):
        # Pads T up to a multiple of the block; padded keys are masked out.
        b, h, t, d = q.shape
        n = self.opts["block"]
        c = (t + n - 1) // n
        blocks = lambda x: F.pad(x, (0, 0, 0, c * n - t)).reshape(b, h, c, n, d)
        mask = (torch.arange(c * n) < t).view(c, 1, n)
        o = softmax_attention(blocks(q), blocks(k), blocks(v), mask)
        return o.reshape(b, h, c * n, d)[:, :, :t]

    def mix_sliding(self, q, k, v):
        # Chunks of w/2 queries see their own and both neighbouring key chunks, masked to the band.
        b, h, t, d = q.shape
        w = self.opts["window"] // 2
        c = t // w
        qc = q.reshape(b, h, c, w, d)

        def neighbours(x):
            x = F.pad(x.reshape(b, h, c, w, d), (0, 0, 0, 0, 1, 1))
            return torch.cat([x[:, :, :-2], x[:, :, 1:-1], x[:, :, 2:]], dim=3)  # (B,H,c,3w,D)

        i = torch.arange(w).view(w, 1) + w
        j = torch.arange(3 * w).view(1, 3 * w)
        chunk = torch.arange(c).view(c, 1, 1)
        valid = (chunk * w + j.view(1, 1, -1) - w >= 0) & (chunk * w + j.view(1, 1, -1) - w < t)
        mask = ((i - j).abs() <= w) & valid
        return softmax_attention(qc, neighbours(k), neighbours(v), mask).reshape(b, h, t, d)

    def mix_linformer(self, q, k, v):
        return softmax_attention(q, self.e @ k, self.f @ v)

    def mix_performer(self, q, k, v):
        d = q.shape[-1]
        m = self.w.shape[0]

        def features(x, is_query):
            x = x * d ** -0.25
            proj = x @ self.w.t() - (x * x).sum(-1, keepdim=True) / 2
            stab = proj.amax(dim=-1, keepdim=True) if is_query else proj.amax()
            return (torch.exp(proj - stab.detach()) + 1e-4) / math.sqrt(m)

        qf, kf = features(q, True), features(k, False)
        kv = kf.transpose(-1, -2) @ v
        z = qf @ kf.sum(dim=2, keepdim=True).transpose(-1, -2)
        return (qf @ kv) / z

    def mix_nystrom(self, q, k, v):
        b, h, t, d = q.shape
        m = self.opts["landmarks"]
        scale = d ** -0.25
        q, k = q * scale, k * scale
        ql = q.reshape(b, h, m, t // m, d).mean(dim=3)
        kl = k.reshape(b, h, m, t // m, d).mean(dim=3)
        f = torch.softmax(q @ kl.transpose(-1, -2), dim=-1)
        a = torch.softmax(ql @ kl.transpose(-1, -2), dim=-1)
        bm = torch.softmax(ql @ k.transpose(-1, -2), dim=-1)
        # Iterative Moore-Penrose pseudo-inverse (Razavi et al.), 6 iterations.
        eye = torch.eye(m)
        z = a.transpose(-1, -2) / (a.abs().sum(-1).amax() * a.abs().sum(-2).amax())
        for _ in range(self.opts["pinv_iterations"]):
            az = a @ z
            z = 0.25 * z @ (13 * eye - az @ (15 * eye - az @ (7 * eye - az)))
        return f @ (z @ (bm @ v))


class Model(nn.Module):
    def __init__(self, variant, length, opts, vocab=17, dim=128, heads=4, ffn=256, layers=2,
                 classes=10, dropout=0.1):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        pos = torch.arange(length).unsqueeze(1)
        freq = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
        table = torch.zeros(length, dim)
        table[:, 0::2], table[:, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq)
        self.register_buffer("positions", table)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(nn.ModuleDict({
                "ln1": nn.LayerNorm(dim), "attn": Attention(variant, dim, heads, length, opts),
                "ln2": nn.LayerNorm(dim),
                "ffn": nn.Sequential(nn.Linear(dim, ffn), nn.GELU(), nn.Linear(ffn, dim))}))
        self.final = nn.LayerNorm(dim)
        self.head = nn.Sequential(nn.Linear(dim, ffn), nn.ReLU(), nn.Linear(ffn, classes))

    def forward(self, ids):
        x = self.drop(self.embed(ids) + self.positions[: ids.shape[1]])
        for blk in self.blocks:
            x = x + self.drop(blk["attn"](blk["ln1"](x)))
            x = x + self.drop(blk["ffn"](blk["ln2"](x)))
        return self.head(self.final(x).mean(dim=1))


DEFAULTS = {"full": {}, "linear": {}, "local": {"block": 50}, "sliding": {"window": 512},
            "linformer": {"k": 256}, "performer": {"features": 256},
            "nystrom": {"landmarks": 64, "pinv_iterations": 6}}


def measure(variant, length, batch, steps, opts):
    torch.manual_seed(1)
    model = Model(variant, length, opts)
    optim = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ids = torch.randint(1, 17, (batch, length))
    labels = torch.arange(batch) % 10
    times = []
    for step in range(steps + 1):  # the first step is warm-up
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(ids), labels)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        if step:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def self_check():
    """Each mechanism against masked full attention or its exact limit; returns the failures."""
    torch.manual_seed(0)
    t = 96
    q, k, v = (torch.randn(2, 4, t, 32) * 0.3 for _ in range(3))
    full = softmax_attention(q, k, v)
    i = torch.arange(t)
    band = (i.view(-1, 1) - i.view(1, -1)).abs() <= 16
    blocks = (i.view(-1, 1) // 40) == (i.view(1, -1) // 40)
    mk = lambda variant, opts: Attention(variant, 128, 4, t, opts)
    cases = [
        ("local, block >= T", mk("local", {"block": 200}).mix_local(q, k, v), full, 1e-5),
        ("local, block 40", mk("local", {"block": 40}).mix_local(q, k, v),
         softmax_attention(q, k, v, blocks), 1e-5),
        ("sliding, window 2T", mk("sliding", {"window": 2 * t}).mix_sliding(q, k, v), full, 1e-5),
        ("sliding, window 32", mk("sliding", {"window": 32}).mix_sliding(q, k, v),
         softmax_attention(q, k, v, band), 1e-5),
        ("nystrom, m = T", mk("nystrom", {"landmarks": t, "pinv_iterations": 20}).mix_nystrom(q, k, v),
         full, 1e-3),
        ("performer, 4096 features", mk("performer", {"features": 4096}).mix_performer(q, k, v),
         full, 5e-3),
    ]
    failures = []
    for name, got, want, tol in cases:
        err = (got - want).abs().max().item()
        print(f"check {name}: max error {err:.2e} (tolerance {tol:.0e})")
        if not err <= tol:
            failures.append(name)
    return failures


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--variants", default="full,linear")
    p.add_argument("--lengths", default="1024,2048,4096")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--set", action="append", default=[], metavar="VARIANT.OPTION=VALUE",
                   help="override an option, e.g. local.block=128")
    p.add_argument("--check", action="store_true",
                   help="check the mechanisms against masked full attention, then exit")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.check:
        failures = self_check()
        sys.exit(f"failed: {', '.join(failures)}" if failures else 0)
    opts = {v: dict(o) for v, o in DEFAULTS.items()}
    for s in a.set:
        key, _, value = s.partition("=")
        variant, _, option = key.partition(".")
        if variant not in opts or option not in opts[variant]:
            sys.exit(f"--set {s}: unknown variant option (known: "
                     + ", ".join(f"{v}.{o}" for v in opts for o in opts[v]) + ")")
        opts[variant][option] = int(value)
    print(f"torch {torch.__version__}, {a.threads} threads, batch {a.batch}, "
          f"median of {a.steps} steps after 1 warm-up")
    print("variant,length,step_s")
    for variant in a.variants.split(","):
        if variant not in opts:
            sys.exit(f"--variants: unknown variant '{variant}' (known: {', '.join(opts)})")
        for length in map(int, a.lengths.split(",")):
            print(f"{variant},{length},{measure(variant, length, a.batch, a.steps, opts[variant]):.3f}",
                  flush=True)


if __name__ == "__main__":
    main()
