#!/usr/bin/python3
"""PyTorch eager reference for `xformer-bench speed`: the same benchmark model (configs/speed/
core.json: d 128, 4 heads, 2 pre-LN layers, FFN 256, dropout 0.1, vocabulary 17, batch 8,
AdamW, clipping 1.0) written in plain PyTorch, one training step timed per measurement.

Each mechanism is written the way a PyTorch user would write it (batched tensor ops, no custom
kernels), with the same default options as xformer-bench. Needs Debian's python3-torch
(`apt-get install -y python3-torch`; not needed by the build or the tests).

    /usr/bin/python3 scripts/pytorch_speed.py --variants full,linear --lengths 1024,4096 --steps 3
    /usr/bin/python3 scripts/pytorch_speed.py --variants longformer,bigbird --lengths 1024 \
        --json results/pytorch.json   # also the records, peak RSS and environment as JSON
    /usr/bin/python3 scripts/pytorch_speed.py --check   # mechanisms against masked full attention

Each measurement runs in a child process of its own (this script, hidden option --child), so its
peak RSS belongs to that (variant, length) alone, as in `xformer-bench speed`.
"""
import argparse
import json
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("pytorch_speed.py: PyTorch is not installed: apt-get install -y python3-torch "
          "libopenblas0-pthread (and run it with /usr/bin/python3)", file=sys.stderr)
    sys.exit(2)


def split_heads(x, heads):
    b, t, c = x.shape
    return x.view(b, t, heads, c // heads).transpose(1, 2)  # (B, H, T, D)


def softmax_attention(q, k, v, mask=None):
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
    return torch.softmax(s, dim=-1) @ v


def banded_attention(q, k, v, w, extra=None):
    """Queries attend to the keys within w positions, chunked: chunks of w queries see their own and
    both neighbouring key chunks, masked to the band (T padded up to a multiple of w). `extra`
    (sorted positions) are keys every query sees as well, as columns of their own."""
    b, h, t, d = q.shape
    c = (t + w - 1) // w
    chunks = lambda x: F.pad(x, (0, 0, 0, c * w - t)).view(b, h, c, w, d)

    def neighbours(x):
        x = F.pad(chunks(x), (0, 0, 0, 0, 1, 1))
        return torch.cat([x[:, :, :-2], x[:, :, 1:-1], x[:, :, 2:]], dim=3)  # (B,H,c,3w,D)

    i = torch.arange(c * w).view(c, w, 1)  # query positions
    j = i[:, :1] - w + torch.arange(3 * w)  # key positions (c, 1, 3w)
    mask = ((i - j).abs() <= w) & (j >= 0) & (j < t)
    keys, values = neighbours(k), neighbours(v)
    if extra is not None and len(extra):
        # Band keys that are also extra keys are seen once, through the extra columns.
        is_extra = torch.zeros(t, dtype=torch.bool)
        is_extra[extra] = True
        mask = torch.cat([mask & ~is_extra[j.clamp(0, t - 1)],
                          torch.ones(c, w, len(extra), dtype=torch.bool)], dim=-1)
        more = lambda x: x[:, :, extra].unsqueeze(2).expand(b, h, c, len(extra), d)
        keys, values = torch.cat([keys, more(k)], dim=3), torch.cat([values, more(v)], dim=3)
    return softmax_attention(chunks(q), keys, values, mask).reshape(b, h, c * w, d)[:, :, :t]


def bigbird_layout(length, heads, o):
    """BigBird ITC blocks for `length`: global block indices (G,), and per (head, query block) the
    key blocks (H, nb, S): window_blocks centred on the query block, the global blocks, then
    random_blocks drawn from the others; with a flag per slot (a window block out of range or
    global, or fewer candidates than random_blocks, is off)."""
    n = o["block"]
    nb = (length + n - 1) // n
    glob = torch.zeros(nb, dtype=torch.bool)
    for g in o["global_blocks"]:
        if -nb <= g < nb:
            glob[g] = True
    half = o["window_blocks"] // 2
    qb, kb = torch.arange(nb).view(nb, 1), torch.arange(nb).view(1, nb)
    candidate = ~glob & ((qb - kb).abs() > half)  # (nb, nb)
    if o["style"] == "lra":  # LRA and HF draw only among the first 1024 positions
        candidate &= kb < max(1, min(nb, 1024 // n))
    # A uniform sample without replacement: the r largest of uniform scores over the candidates.
    r = min(o["random_blocks"], nb)
    score = torch.rand(heads, nb, nb).masked_fill(~candidate, -1.0)
    rand = score.topk(r, dim=-1).indices  # (H, nb, r)
    rand_on = candidate.expand(heads, nb, nb).gather(-1, rand)
    window = qb + torch.arange(-half, half + 1)  # (nb, window_blocks)
    window_on = (window >= 0) & (window < nb)
    window = window.clamp(0, nb - 1)
    window_on &= ~glob[window]
    g = glob.nonzero().view(-1)
    expand = lambda x: x.expand(heads, nb, x.shape[-1])
    index = torch.cat([expand(window), expand(g.expand(nb, len(g))), rand], dim=-1)
    on = torch.cat([expand(window_on), torch.ones(heads, nb, len(g), dtype=torch.bool), rand_on],
                   dim=-1)
    return g, index, on, rand, rand_on


def relative_table(offsets, first, dim):
    """Transformer-XL's sinusoidal R: row o is offset first + o, [sin(offset·f); cos(offset·f)]."""
    pos = (torch.arange(offsets) + first).float().unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
    return torch.cat([torch.sin(pos * freq), torch.cos(pos * freq)], dim=-1)


def segment_layout(opts):
    """Segment s, memory segments, compressed segments, slots per compressed segment, keys L."""
    s, mem, comp = opts["segment"], opts["memory"], opts.get("compressed", 0)
    per = s // opts["rate"] if comp else 0
    return s, mem, comp, per, comp * per + mem * s + s


class Attention(nn.Module):
    """Q/K/V projection, one mechanism, output projection."""

    def __init__(self, variant, dim, heads, length, opts):
        super().__init__()
        self.variant, self.heads, self.opts, self.length = variant, heads, opts, length
        # Reformer shares queries and keys: one projection fewer.
        self.qkv = nn.Linear(dim, (2 if variant == "reformer" else 3) * dim)
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
        if variant == "longformer":
            pos = sorted({g for g in opts["global_tokens"] + list(range(opts["global_first"]))
                          if g < length})
            pos = torch.tensor(pos, dtype=torch.long)
            self.register_buffer("global_pos", pos, persistent=False)
            if opts["global_projections"]:  # global rows use their own Q, K, V (as the paper)
                self.qkv_global = nn.Linear(dim, 3 * dim)
        if variant == "compressed":  # strided convolutions over the sequence, kernel = stride
            c = opts["c"]
            self.conv_k = nn.Conv1d(dim, dim, c, stride=c)
            self.conv_v = nn.Conv1d(dim, dim, c, stride=c)
        if variant == "sinkhorn":  # SortNet: block mean key -> scores against every block
            self.sort_hidden = nn.Linear(d, d)
            self.sort_out = nn.Linear(d, (length + opts["block"] - 1) // opts["block"])
        if variant == "routing":  # unit k-means centroids per routing head, EMA-updated buffer
            hr, k = heads - opts["local_heads"], max(1, -(-length // opts["cluster_size"]))
            self.register_buffer("means", F.normalize(torch.randn(hr, k, d), dim=-1))
        if variant in ("xl", "compressive"):  # relative positions: W_r R, biases u and v
            s, mem, comp, per, keys = segment_layout(opts)
            self.r_net = nn.Linear(dim, dim, bias=False)
            self.u = nn.Parameter(torch.randn(heads, d) * 0.02)
            self.v = nn.Parameter(torch.randn(heads, d) * 0.02)
            self.register_buffer("r_table", relative_table(keys + s - 1, -(s - 1), dim),
                                 persistent=False)
            if comp and opts["compression"] == "conv":
                self.compress = nn.Conv1d(dim, dim, opts["rate"], stride=opts["rate"])
        if variant == "bigbird":  # random blocks drawn once per (layer, head, query block)
            layout = bigbird_layout(length, heads, opts)
            for name, x in zip(["global_blocks", "key_blocks", "key_blocks_on", "random_blocks",
                                "random_on"], layout):
                self.register_buffer(name, x, persistent=False)

    def forward(self, x):
        if self.variant in ("xl", "compressive"):
            return self.out(self.segments(x))
        project = lambda f: [split_heads(t, self.heads)
                             for t in f(x).chunk(f.out_features // x.shape[-1], dim=-1)]
        extra = project(self.qkv_global) if hasattr(self, "qkv_global") else []
        o = getattr(self, "mix_" + self.variant)(*project(self.qkv), *extra)
        b, h, t, d = o.shape
        return self.out(o.transpose(1, 2).reshape(b, t, h * d))

    def memory_kv(self, x):
        """Keys and values of the memory (the stop-gradient layer input) and of the compressed
        memory (slots of `rate` positions, by the convolution or the mean), (B, H, T', D) each."""
        _, wk, wv = self.qkv.weight.chunk(3)
        _, bk, bv = self.qkv.bias.chunk(3)
        kv = lambda m: (split_heads(F.linear(m, wk, bk), self.heads),
                        split_heads(F.linear(m, wv, bv), self.heads))
        x = x.detach()
        slots = None
        if self.opts.get("compressed", 0):
            c = self.opts["rate"]
            y = x[:, : x.shape[1] // c * c].transpose(1, 2)
            y = self.compress(y) if hasattr(self, "compress") else F.avg_pool1d(y, c)
            slots = kv(y.transpose(1, 2))
        return kv(x), slots

    def segments(self, x):
        """XL / Compressive attention for a classifier, all segments at once: segment g's
        queries attend to [compressed slots of segments g-mem-comp .. g-mem-1; the memory
        segments g-mem .. g-1; segment g], logits (q+u)·k + (q+v)·W_r R_(i-j) with the relative
        shift done as a gather."""
        b, t, _ = x.shape
        q, k, v = [split_heads(y, self.heads) for y in self.qkv(x).chunk(3, dim=-1)]
        (km, vm), slots = self.memory_kv(x)
        return self.mix_segments(q, k, v, km, vm, slots).transpose(1, 2).reshape(b, t, -1)

    def mix_segments(self, q, k, v, km, vm, slots):
        b, h, t, d = q.shape
        s, mem, comp, per, keys = segment_layout(self.opts)
        n = (t + s - 1) // s
        pad = lambda y, rows: F.pad(y, (0, 0, 0, rows - y.shape[2]))
        seg = lambda y: pad(y, n * s).view(b, h, n, s, d)
        # Segment g's memory: the grouped rows of segment g - back (zeros, masked, before 0).
        shifted = lambda y, back: F.pad(y, (0, 0, 0, 0, back, 0))[:, :, :n]
        parts_k, parts_v, on = [], [], []
        g = torch.arange(n).view(n, 1)
        if comp:
            ks, vs = (pad(y, n * per).view(b, h, n, per, d) for y in slots)
            for back in range(mem + comp, mem, -1):
                parts_k.append(shifted(ks, back))
                parts_v.append(shifted(vs, back))
                on.append((g - back >= 0).expand(n, per))
        for back in range(mem, 0, -1):
            parts_k.append(shifted(seg(km), back))
            parts_v.append(shifted(seg(vm), back))
            on.append((g - back >= 0).expand(n, s))
        parts_k.append(seg(k))
        parts_v.append(seg(v))
        on.append(g * s + torch.arange(s) < t)
        keys_k, keys_v = torch.cat(parts_k, dim=3), torch.cat(parts_v, dim=3)  # (B,H,n,L,D)
        on = torch.cat(on, dim=1).view(1, 1, n, 1, keys)
        qs = seg(q)
        rk = split_heads(self.r_net(self.r_table).unsqueeze(0), h)[0]  # (H, R, D)
        content = (qs + self.u.view(1, h, 1, 1, d)) @ keys_k.transpose(-1, -2)
        position = (qs + self.v.view(1, h, 1, 1, d)) @ rk.transpose(-1, -2).unsqueeze(1)
        shift = keys - 1 + torch.arange(s).view(s, 1) - torch.arange(keys)  # (s, L)
        position = position.gather(-1, shift.expand(b, h, n, s, keys))
        logits = ((content + position) / math.sqrt(d)).masked_fill(~on, float("-inf"))
        o = torch.softmax(logits, dim=-1) @ keys_v
        return o.reshape(b, h, n * s, d)[:, :, :t]

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
        return banded_attention(q, k, v, self.opts["window"] // 2)

    def mix_longformer(self, q, k, v, qg=None, kg=None, vg=None):
        # Every query sees the band and the global columns; global rows see every key, through
        # the global projection when there is one.
        o = banded_attention(q, k, v, self.opts["window"] // 2, self.global_pos)
        if not len(self.global_pos):
            return o
        if qg is None:
            qg, kg, vg = q, k, v
        og = softmax_attention(qg[:, :, self.global_pos], kg, vg)
        return o.index_copy(2, self.global_pos, og)

    def mix_bigbird(self, q, k, v):
        # Query blocks gather their key blocks (one softmax over the union); global query blocks
        # attend to every key. T is padded up to a multiple of the block; padded keys are masked.
        b, h, t, d = q.shape
        n, nb = self.opts["block"], self.key_blocks.shape[1]
        blocks = lambda x: F.pad(x, (0, 0, 0, nb * n - t)).view(b, h, nb, n, d)
        qb = blocks(q)
        heads = torch.arange(h).view(h, 1, 1)
        gather = lambda x: blocks(x)[:, heads, self.key_blocks].reshape(b, h, nb, -1, d)
        key_on = (torch.arange(nb * n) < t).view(nb, n)[self.key_blocks]  # (H, nb, S, n)
        key_on &= self.key_blocks_on.unsqueeze(-1)
        o = softmax_attention(qb, gather(k), gather(v), key_on.view(h, nb, 1, -1))
        g = self.global_blocks
        if len(g):
            og = softmax_attention(qb[:, :, g].reshape(b, h, -1, d), k, v)
            o = o.index_copy(2, g, og.view(b, h, len(g), n, d))
        return o.reshape(b, h, nb * n, d)[:, :, :t]

    def mix_compressed(self, q, k, v):
        # K, V back to (B, C, T), zero-padded to a multiple of c, convolved, split into heads.
        b, h, t, d = q.shape
        c = self.opts["c"]
        pad = -t % c

        def compress(x, conv):
            x = F.pad(x.transpose(1, 2).reshape(b, t, h * d).transpose(1, 2), (0, pad))
            return split_heads(conv(x).transpose(1, 2), h)

        return softmax_attention(q, compress(k, self.conv_k), compress(v, self.conv_v))

    def mix_axial(self, q, k, v):
        # Grid (R, W): attention along rows, then along columns with the row outputs as values.
        b, h, t, d = q.shape
        w = min(self.opts["width"] or math.isqrt(self.length), t)
        r = (t + w - 1) // w
        grid = lambda x: F.pad(x, (0, 0, 0, r * w - t)).view(b, h, r, w, d)
        valid = (torch.arange(r * w) < t).view(r, w)
        q, k = grid(q), grid(k)
        rows = softmax_attention(q, k, grid(v), valid.view(r, 1, w))  # (B, H, R, W, D)
        cols = lambda x: x.transpose(2, 3)  # (B, H, W, R, D)
        o = softmax_attention(cols(q), cols(k), cols(rows), valid.t().reshape(w, 1, r))
        return cols(o).reshape(b, h, r * w, d)[:, :, :t]
    def mix_sinkhorn(self, q, k, v):
        # Blocks of n (T padded up to a multiple; padded keys masked). The SortNet scores block
        # pairs from the blocks' mean keys; log-space Sinkhorn makes them a soft permutation P;
        # each query block attends, with one softmax, to its own block and to Σ_j P_ij block_j.
        b, h, t, d = q.shape
        n = self.opts["block"]
        c = (t + n - 1) // n
        blocks = lambda x: F.pad(x, (0, 0, 0, c * n - t)).view(b, h, c, n, d)
        kb, vb = blocks(k), blocks(v)
        valid = (torch.arange(c * n) < t).view(c, n)
        mean_keys = kb.sum(dim=3) / valid.sum(-1, keepdim=True)  # (B, H, c, D)
        r = self.sort_out(F.relu(self.sort_hidden(mean_keys)))[..., :c] / self.opts["temperature"]
        for _ in range(self.opts["iterations"]):
            r = r - torch.logsumexp(r, dim=-1, keepdim=True)
            r = r - torch.logsumexp(r, dim=-2, keepdim=True)
        p = r.exp()  # (B, H, c, c)
        sorted_k = torch.einsum("bhij,bhjnd->bhind", p, kb)
        sorted_v = torch.einsum("bhij,bhjnd->bhind", p, vb)
        mask = torch.cat([valid, (torch.arange(n) < t).expand(c, n)], dim=-1).view(c, 1, 2 * n)
        o = softmax_attention(blocks(q), torch.cat([kb, sorted_k], dim=3),
                              torch.cat([vb, sorted_v], dim=3), mask)
        return o.reshape(b, h, c * n, d)[:, :, :t]

    def mix_routing(self, q, k, v):
        # Local heads: blocks of `window`. Routing heads share Q/K: every cluster takes the
        # ceil(T/K) tokens whose normalised queries score highest against its centroid, attends
        # within them, and the outputs are averaged back (0 for a token no cluster took).
        hl = self.opts["local_heads"]
        b, h, t, d = q.shape
        n = self.opts["window"]
        c = (t + n - 1) // n
        blocks = lambda x: F.pad(x, (0, 0, 0, c * n - t)).reshape(b, hl, c, n, d)
        mask = (torch.arange(c * n) < t).view(c, 1, n)
        local = softmax_attention(blocks(q[:, :hl]), blocks(k[:, :hl]), blocks(v[:, :hl]), mask)
        local = local.reshape(b, hl, c * n, d)[:, :, :t]
        if hl == h:
            return local
        qr, vr = q[:, hl:], v[:, hl:]
        qn = F.normalize(qr, dim=-1)
        scores = qn @ self.means.unsqueeze(0).transpose(-1, -2)  # (B, Hr, T, K)
        w = -(-t // self.means.shape[1])
        idx = scores.topk(w, dim=2).indices.transpose(2, 3).sort(dim=-1).values  # (B, Hr, K, w)
        gather = lambda x: x.gather(2, idx.reshape(b, h - hl, -1, 1).expand(-1, -1, -1, d))
        qg, vg = gather(qr), gather(vr)
        shape = idx.shape + (d,)
        og = softmax_attention(qg.view(shape), qg.view(shape), vg.view(shape)).flatten(2, 3)
        flat = idx.reshape(b, h - hl, -1, 1)
        summed = torch.zeros_like(qr).scatter_add(2, flat.expand(-1, -1, -1, d), og)
        count = torch.zeros(b, h - hl, t, 1).scatter_add(2, flat, torch.ones_like(flat, dtype=q.dtype))
        if self.training:  # k-means step: EMA of the normalised sums of each centroid's tokens
            with torch.no_grad():
                nearest = F.one_hot(scores.argmax(-1), self.means.shape[1]).to(q.dtype)
                sums = torch.einsum("bhtk,bhtd->hkd", nearest, qn)
                new = torch.where(sums.norm(dim=-1, keepdim=True) > 0, F.normalize(sums, dim=-1),
                                  self.means)
                decay = self.opts["decay"]
                self.means.copy_(F.normalize(decay * self.means + (1 - decay) * new, dim=-1))
        routed = summed / count.clamp(min=1)
        return torch.cat([local, routed], dim=1)

    def mix_reformer(self, qk, v):
        # LSH attention as in lucidrains' reformer-pytorch: per round, random rotations (redrawn
        # every forward), buckets argmax([xR; -xR]), argsort by (bucket, position), chunks of c
        # attend to themselves and the chunk before (here not wrapping around, as xformer-bench),
        # keys l2-normalised, self logit -5e4; rounds combined by their logsumexp.
        b, h, t, d = qk.shape
        o = self.opts
        r, c = o["n_hashes"], o["chunk"]
        nb = o["n_buckets"] or max(2, ((self.length + c - 1) // c + 1) // 2 * 2)
        if nb == 1:
            buckets = torch.zeros(b, h, r, t, dtype=torch.long)
        else:
            y = torch.einsum("bhtd,rdk->bhrtk", qk.detach(), torch.randn(r, d, nb // 2))
            buckets = torch.cat([y, -y], dim=-1).argmax(dim=-1)  # (B, H, R, T)
        perm = (buckets * t + torch.arange(t)).argsort(dim=-1)  # by (bucket, position)
        gather = lambda x: x.unsqueeze(2).expand(-1, -1, r, -1, -1).gather(
            3, perm.unsqueeze(-1).expand(-1, -1, -1, -1, d))
        sq, sv = gather(qk), gather(v)  # (B, H, R, T, D)
        n = (t + c - 1) // c
        chunks = lambda x: F.pad(x, (0, 0, 0, n * c - t)).view(b, h, r, n, c, -1)
        back = lambda x: torch.cat([torch.zeros_like(x[:, :, :, :1]), x[:, :, :, :-1]], dim=3)
        window = lambda x: torch.cat([back(x), x], dim=4)  # (B, H, R, n, 2c, ·)
        qc = chunks(sq)
        kc, vc = window(chunks(F.normalize(sq, dim=-1))), window(chunks(sv))
        tok = F.pad(perm, (0, n * c - t), value=-1).view(b, h, r, n, c, 1)  # token of a row
        row = torch.arange(n * c).view(n, c)
        key_row = torch.cat([row - c, row], dim=1)  # (n, 2c): the chunk before, its own rows
        dots = torch.einsum("bhrncd,bhrnkd->bhrnck", qc, kc) / math.sqrt(d)
        dots = dots.masked_fill(tok == window(tok).transpose(-1, -2), -5e4)  # itself
        dots = dots.masked_fill(~((key_row >= 0) & (key_row < t)).view(n, 1, 2 * c),
                                float("-inf"))
        lse = torch.logsumexp(dots, dim=-1, keepdim=True)
        out = (torch.exp(dots - lse) @ vc).view(b, h, r, n * c, d)[:, :, :, :t]
        lse = lse.view(b, h, r, n * c, 1)[:, :, :, :t]
        unsort = perm.argsort(dim=-1).unsqueeze(-1)
        out = out.gather(3, unsort.expand(-1, -1, -1, -1, d))
        lse = lse.gather(3, unsort)
        return (torch.softmax(lse, dim=2) * out).sum(dim=2)

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


class FNet(nn.Module):
    """FNet token mixing: the real part of the 2-D DFT over (sequence, hidden), no parameters;
    orthonormal scaling as xformer-bench's default (normalize)."""

    def __init__(self, opts):
        super().__init__()
        self.norm = "ortho" if opts["normalize"] else "backward"

    def forward(self, x):
        return torch.fft.fft2(x, dim=(-2, -1), norm=self.norm).real


class S4D(nn.Module):
    """S4D (as the paper's s4d.py): diagonal SSM kernels by the Vandermonde product, bidirectional
    FFT convolution, D skip, GELU, Linear(C -> 2C) + GLU."""

    def __init__(self, dim, opts):
        super().__init__()
        h, n = dim, opts["state"] // 2
        lo, hi = math.log(opts["dt_min"]), math.log(opts["dt_max"])
        self.log_dt = nn.Parameter(torch.rand(h) * (hi - lo) + lo)
        self.log_a_real = nn.Parameter(torch.full((h, n), math.log(0.5)))
        self.a_imag = nn.Parameter(math.pi * torch.arange(n).float().repeat(h, 1))
        self.b = nn.Parameter(torch.view_as_real(torch.ones(h, n, dtype=torch.cfloat)))
        channels = 2 if opts["bidirectional"] else 1
        self.c = nn.Parameter(torch.view_as_real(torch.randn(channels, h, n, dtype=torch.cfloat)))
        self.d = nn.Parameter(torch.randn(h))
        self.out = nn.Linear(dim, 2 * dim)

    def kernel(self, length):  # (R, H, L)
        a = -torch.exp(self.log_a_real) + 1j * self.a_imag  # (H, N)
        dta = a * torch.exp(self.log_dt).unsqueeze(-1)
        c = (torch.view_as_complex(self.c) * torch.view_as_complex(self.b)
             * (torch.exp(dta) - 1.0) / a)
        vandermonde = torch.exp(dta.unsqueeze(-1) * torch.arange(length))  # (H, N, L)
        return 2 * torch.einsum("rhn,hnl->rhl", c, vandermonde).real

    def forward(self, x):
        t = x.shape[1]
        k = self.kernel(t)
        if k.shape[0] == 2:  # the anti-causal kernel wraps around from the end (S4's fftconv)
            k = F.pad(k[0], (0, t)) + F.pad(k[1].flip(-1), (t, 0))
        u = x.transpose(1, 2)  # (B, H, T)
        y = torch.fft.irfft(torch.fft.rfft(u, n=2 * t) * torch.fft.rfft(k, n=2 * t), n=2 * t)
        y = y[..., :t] + u * self.d.unsqueeze(-1)
        return F.glu(self.out(F.gelu(y.transpose(1, 2))), dim=-1)


class ISAB(nn.Module):
    """Set Transformer induced set attention as xformer-bench's isab: m learned inducing points,
    H = LN(I + MHA(I, X)), then Y = MHA(X, H)."""

    def __init__(self, dim, heads, opts):
        super().__init__()
        self.points = nn.Parameter(torch.randn(opts["inducing"], dim))
        self.induce = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.attend = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        i = self.points.expand(x.shape[0], -1, -1)
        h = self.norm(i + self.induce(i, x, x, need_weights=False)[0])
        return self.attend(x, h, h, need_weights=False)[0]


class Luna(nn.Module):
    """Luna pack and unpack attention; forward(x, p) returns the output and the packed sequence
    for the next layer (p = None: the first layer's learned one)."""

    def __init__(self, dim, heads, opts, first):
        super().__init__()
        self.initial = nn.Parameter(torch.randn(opts["length"], dim)) if first else None
        self.pack = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.unpack = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x, p=None):
        if p is None:
            p = self.initial.expand(x.shape[0], -1, -1)
        packed = self.pack(self.norm(p), x, x, need_weights=False)[0]
        return self.unpack(x, packed, packed, need_weights=False)[0], p + packed


def make_mixer(variant, dim, heads, length, opts, first=True):
    if variant == "fnet":
        return FNet(opts)
    if variant == "s4d":
        return S4D(dim, opts)
    if variant == "isab":
        return ISAB(dim, heads, opts)
    if variant == "luna":
        return Luna(dim, heads, opts, first)
    return Attention(variant, dim, heads, length, opts)


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
        for layer in range(layers):
            self.blocks.append(nn.ModuleDict({
                "ln1": nn.LayerNorm(dim),
                "attn": make_mixer(variant, dim, heads, length, opts, layer == 0),
                "ln2": nn.LayerNorm(dim),
                "ffn": nn.Sequential(nn.Linear(dim, ffn), nn.GELU(), nn.Linear(ffn, dim))}))
        self.final = nn.LayerNorm(dim)
        self.head = nn.Sequential(nn.Linear(dim, ffn), nn.ReLU(), nn.Linear(ffn, classes))

    def forward(self, ids):
        x = self.drop(self.embed(ids) + self.positions[: ids.shape[1]])
        packed = None  # Luna's packed sequence, carried from block to block
        for blk in self.blocks:
            if isinstance(blk["attn"], Luna):
                h, packed = blk["attn"](blk["ln1"](x), packed)
            else:
                h = blk["attn"](blk["ln1"](x))
            x = x + self.drop(h)
            x = x + self.drop(blk["ffn"](blk["ln2"](x)))
        return self.head(self.final(x).mean(dim=1))


DEFAULTS = {"full": {}, "linear": {}, "local": {"block": 50}, "sliding": {"window": 512},
            "longformer": {"window": 512, "global_tokens": [0], "global_first": 0,
                           "global_projections": True},
            "bigbird": {"block": 64, "random_blocks": 3, "window_blocks": 3,
                        "global_blocks": [0, -1], "style": "paper"},
            "linformer": {"k": 256}, "performer": {"features": 256},
            "nystrom": {"landmarks": 64, "pinv_iterations": 6},
            "sinkhorn": {"block": 64, "iterations": 7, "temperature": 0.75},
            "routing": {"cluster_size": 64, "local_heads": 2, "window": 64, "decay": 0.999},
            "fnet": {"normalize": True},
            "s4d": {"state": 64, "dt_min": 0.001, "dt_max": 0.1, "bidirectional": True},
            "compressed": {"c": 32}, "axial": {"width": 0},  # width 0: isqrt(max_len)
            "isab": {"inducing": 32}, "luna": {"length": 256},
            "xl": {"segment": 128, "memory": 1},
            "compressive": {"segment": 128, "memory": 1, "compressed": 1, "rate": 4,
                            "compression": "conv"},
            "reformer": {"n_hashes": 2, "chunk": 64, "n_buckets": 0}}  # n_buckets 0: auto


def option_error(variant, o):
    """What is wrong with a variant's options (as xformer-bench rejects them), or None."""
    if variant == "routing" and not (o["cluster_size"] >= 1 and o["window"] >= 1
                                     and 0 <= o["local_heads"] <= 4 and 0 <= o["decay"] < 1):
        return ("routing.cluster_size, window: must be positive; local_heads in [0, 4]; "
                "decay in [0, 1)")
    if variant != "routing" and "window" in o and (o["window"] < 2 or o["window"] % 2):
        return f"{variant}.window={o['window']}: must be even and positive"
    if variant == "compressed" and o["c"] < 1:
        return f"compressed.c={o['c']}: must be positive"
    if variant == "axial" and o["width"] < 0:
        return f"axial.width={o['width']}: must be positive (0: isqrt(max_len))"
    for key in ("inducing", "length"):
        if key in o and o[key] < 1:
            return f"{variant}.{key}={o[key]}: must be positive"
    if variant == "longformer" and min(o["global_tokens"] + [o["global_first"]]) < 0:
        return "longformer.global_tokens, global_first: must not be negative"
    if variant == "bigbird" and (o["window_blocks"] < 1 or o["window_blocks"] % 2 == 0):
        return f"bigbird.window_blocks={o['window_blocks']}: must be odd and positive"
    if variant == "sinkhorn" and not (o["block"] >= 1 and o["iterations"] >= 1
                                      and 1e-3 <= o["temperature"] <= 1e3):
        return "sinkhorn.block, iterations: must be positive; temperature in [0.001, 1000]"
    if variant in ("xl", "compressive") and (o["segment"] < 1 or o["memory"] < 0):
        return f"{variant}.segment must be positive, memory not negative"
    if variant == "compressive" and (o["compressed"] < 1 or o["rate"] < 1
                                     or o["segment"] % o["rate"]
                                     or o["compression"] not in ("conv", "mean")):
        return ("compressive.compressed, rate: must be positive, rate must divide segment; "
                "compression \"conv\" or \"mean\"")
    if variant == "reformer" and not (1 <= o["n_hashes"] <= 16 and o["chunk"] >= 1 and (
            o["n_buckets"] in (0, 1) or (o["n_buckets"] > 0 and o["n_buckets"] % 2 == 0))):
        return ("reformer.n_hashes in [1, 16], chunk positive, n_buckets 0 (auto), 1 or even")
    if variant == "bigbird" and o["style"] not in ("paper", "lra"):
        return f"bigbird.style={o['style']!r}: must be \"paper\" or \"lra\""
    return None


def peak_rss_bytes():
    """This process's own peak RSS. VmHWM, not ru_maxrss: after fork + exec, ru_maxrss starts at
    the parent's peak (Linux keeps it across exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def environment(threads):
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    blas = ", ".join(re.findall(r"\b(?:BLAS|LAPACK)_INFO=[^,\s]*", torch.__config__.show()))
    with open("/proc/self/maps") as f:  # the library behind a generic BLAS_INFO
        libs = sorted({os.path.basename(line.split()[-1]) for line in f
                       if "blas" in line.split()[-1].lower()})
    if libs:
        blas += f"; loaded: {', '.join(libs)}"
    return {"cpu": cpu, "torch": torch.__version__, "blas": blas or "unknown", "threads": threads}


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
    # Longformer: band 20 (T = 96 is not a multiple of 20), globals 0, 1, 2 and 50 (200 >= T).
    lf = lambda window, proj: mk("longformer", {"window": window, "global_tokens": [50, 200],
                                                "global_first": 3, "global_projections": proj})
    is_global = torch.zeros(t, dtype=torch.bool)
    is_global[[0, 1, 2, 50]] = True
    lf_mask = ((i.view(-1, 1) - i.view(1, -1)).abs() <= 20) | is_global.view(-1, 1) | is_global
    qg, kg, vg = (torch.randn(2, 4, t, 32) * 0.3 for _ in range(3))
    lf_global_rows = torch.where(is_global.view(-1, 1), softmax_attention(qg, kg, vg),
                                 softmax_attention(q, k, v, lf_mask))
    # BigBird: blocks of 10 (the last one 6 long), global blocks 0, 4 and the last, 2 random.
    bb = mk("bigbird", {"block": 10, "random_blocks": 2, "window_blocks": 3,
                        "global_blocks": [0, 4, -1], "style": "paper"})
    block = i // 10
    glob = torch.zeros(10, dtype=torch.bool)
    glob[[0, 4, 9]] = True
    rand = torch.zeros(4, 10, 10, dtype=torch.bool).scatter_(-1, bb.random_blocks, bb.random_on)
    bb_mask = (glob[block].view(-1, 1) | glob[block].view(1, -1)
               | ((block.view(-1, 1) - block.view(1, -1)).abs() <= 1)
               | rand[:, block.view(-1, 1), block.view(1, -1)])  # (H, T, T)
    # Its random blocks: min(2, candidates) per (head, query block), all outside window and globals.
    candidate = ~glob & ((torch.arange(10).view(-1, 1) - torch.arange(10)).abs() > 1)
    rand_count = torch.stack([rand.sum(-1), (rand & candidate).sum(-1)]).float()
    bb_all = {"block": 16, "random_blocks": 6, "window_blocks": 3, "global_blocks": [0, -1],
              "style": "paper"}
    sk_one = {"block": 200, "iterations": 7, "temperature": 0.75}  # one block: full attention
    rt = lambda local_heads, cluster_size: {"cluster_size": cluster_size, "window": 40,
                                            "local_heads": local_heads, "decay": 0.999}
    # Reformer with one bucket (the identity order): chunks of c see their own and the previous
    # chunk, keys q/|q|, never themselves; 3 rounds of the same keys give the same softmax.
    rf_opts = lambda c: {"n_hashes": 3, "chunk": c, "n_buckets": 1}
    chunk_of = lambda c: i // c
    reformer_dense = lambda c: softmax_attention(
        q, F.normalize(q, dim=-1), v,
        ((chunk_of(c).view(-1, 1) - chunk_of(c).view(1, -1)) >= 0)
        & ((chunk_of(c).view(-1, 1) - chunk_of(c).view(1, -1)) <= 1)
        & (i.view(-1, 1) != i.view(1, -1)))
    cases = [
        ("local, block >= T", mk("local", {"block": 200}).mix_local(q, k, v), full, 1e-5),
        ("local, block 40", mk("local", {"block": 40}).mix_local(q, k, v),
         softmax_attention(q, k, v, blocks), 1e-5),
        ("sliding, window 2T", mk("sliding", {"window": 2 * t}).mix_sliding(q, k, v), full, 1e-5),
        ("sliding, window 32", mk("sliding", {"window": 32}).mix_sliding(q, k, v),
         softmax_attention(q, k, v, band), 1e-5),
        ("longformer, window 2T, one projection", lf(2 * t, False).mix_longformer(q, k, v),
         full, 1e-5),
        ("longformer, window 40, one projection", lf(40, False).mix_longformer(q, k, v),
         softmax_attention(q, k, v, lf_mask), 1e-5),
        ("longformer, window 40, global projections",
         lf(40, True).mix_longformer(q, k, v, qg, kg, vg), lf_global_rows, 1e-5),
        ("bigbird, block >= T", mk("bigbird", dict(bb_all, block=200)).mix_bigbird(q, k, v), full,
         1e-5),
        ("bigbird, random blocks >= T/block", mk("bigbird", bb_all).mix_bigbird(q, k, v), full,
         1e-5),
        ("bigbird, block 10, 2 random", bb.mix_bigbird(q, k, v),
         softmax_attention(q, k, v, bb_mask), 1e-5),
        ("bigbird, random blocks per query block", rand_count,
         candidate.sum(-1).clamp(max=2).float().expand(2, 4, 10), 0.0),
        ("sinkhorn, block >= T", mk("sinkhorn", sk_one).mix_sinkhorn(q, k, v), full, 1e-5),
        ("routing, one cluster: shared-QK full attention",
         mk("routing", rt(0, 200)).eval().mix_routing(q, k, v), softmax_attention(q, q, v), 1e-5),
        ("routing, local heads only, window 40",
         mk("routing", rt(4, 8)).mix_routing(q, k, v), softmax_attention(q, k, v, blocks), 1e-5),
        ("reformer, one bucket, chunk >= T",
         mk("reformer", rf_opts(200)).mix_reformer(q, v), reformer_dense(t), 1e-5),
        ("reformer, one bucket, chunks of 16",
         mk("reformer", rf_opts(16)).mix_reformer(q, v), reformer_dense(16), 1e-5),
        ("nystrom, m = T", mk("nystrom", {"landmarks": t, "pinv_iterations": 20}).mix_nystrom(q, k, v),
         full, 1e-3),
        ("performer, 4096 features", mk("performer", {"features": 4096}).mix_performer(q, k, v),
         full, 5e-3),
    ]
    # Memory-compressed: c = 1 with identity convolutions is full attention; c = 5 (96 is not a
    # multiple) against the compressed keys written as window sums.
    comp = lambda c: mk("compressed", {"c": c})
    comp1 = comp(1)
    with torch.no_grad():
        for conv in (comp1.conv_k, comp1.conv_v):
            conv.weight.copy_(torch.eye(128).unsqueeze(-1))
            conv.bias.zero_()
    comp5 = comp(5)
    merged = lambda x: x.transpose(1, 2).reshape(2, t, 128)
    windows = lambda x, conv: split_heads(
        torch.einsum("bjsc,osc->bjo", F.pad(merged(x), (0, 0, 0, 4)).view(2, 20, 5, 128),
                     conv.weight.permute(0, 2, 1)) + conv.bias, 4)
    # Axial on a 12 x 8 grid: row and column attention written as masked full attention.
    row, col = i // 8, i % 8
    same_row = row.view(-1, 1) == row.view(1, -1)
    same_col = col.view(-1, 1) == col.view(1, -1)
    axial_dense = softmax_attention(q, k, softmax_attention(q, k, v, same_row), same_col)
    with torch.no_grad():
        cases += [
            ("compressed, c = 1, identity convolutions", comp1.mix_compressed(q, k, v), full,
             1e-5),
            ("compressed, c = 5", comp5.mix_compressed(q, k, v),
             softmax_attention(q, windows(k, comp5.conv_k), windows(v, comp5.conv_v)), 1e-5),
            ("axial, width >= T", mk("axial", {"width": 2 * t}).mix_axial(q, k, v), full, 1e-5),
            ("axial, width 8", mk("axial", {"width": 8}).mix_axial(q, k, v), axial_dense, 1e-5),
        ]
    # ISAB and two Luna layers against the same mechanism written with explicit projections and
    # softmax_attention (nn.MultiheadAttention's packed in_proj: q, k, v rows).
    def mha(m, queries, context):
        w, b = m.in_proj_weight.chunk(3), m.in_proj_bias.chunk(3)
        proj = lambda x, j: split_heads(x @ w[j].t() + b[j], 4)
        o = softmax_attention(proj(queries, 0), proj(context, 1), proj(context, 2))
        return m.out_proj(o.transpose(1, 2).reshape(queries.shape[0], -1, 128))

    x = torch.randn(2, t, 128)
    isab = ISAB(128, 4, {"inducing": 7})
    points = isab.points.expand(2, -1, -1)
    h = isab.norm(points + mha(isab.induce, points, x))
    luna = [Luna(128, 4, {"length": 5}, first) for first in (True, False)]
    p = luna[0].initial.expand(2, -1, -1)
    y = []
    for layer in luna:
        packed = mha(layer.pack, layer.norm(p), x)
        y.append(mha(layer.unpack, x, packed))
        p = p + packed
    with torch.no_grad():
        y0, p0 = luna[0](x)
        cases += [
            ("isab, 7 inducing points", isab(x), mha(isab.attend, x, h), 1e-5),
            ("luna, two layers, l = 5", torch.cat([y0, luna[1](x, p0)[0]]), torch.cat(y), 1e-5),
        ]
    # Routing with 4 clusters of 24 (all heads routed) against a loop over its clusters.
    rt4 = mk("routing", rt(0, 24)).eval()
    loop = torch.zeros_like(q)
    for bi in range(2):
        for hi in range(4):
            qn = F.normalize(q[bi, hi], dim=-1)
            taken = [(qn @ mu).topk(24).indices for mu in rt4.means[hi]]
            count = torch.zeros(t)
            for rows in taken:
                loop[bi, hi, rows] += softmax_attention(q[bi, hi, rows], q[bi, hi, rows],
                                                        v[bi, hi, rows])
                count[rows] += 1
            loop[bi, hi] /= count.clamp(min=1).view(-1, 1)
    cases.append(("routing, 4 clusters of 24, against a loop", rt4.mix_routing(q, k, v), loop, 1e-5))
    # XL and Compressive against masked full attention over [slots; memory; sequence] with the
    # relative term as a dense bias: with one segment (and zero relative terms: plain full
    # attention), and with several segments, memory and compressed slots.
    def segment_dense(m, q, k, v, km, vm, ks, vs):
        s, mem, comp, per, keys = segment_layout(m.opts)
        rk = split_heads(m.r_net(m.r_table).unsqueeze(0), 4)[0]  # (H, R, D)
        pos_q = torch.arange(t)
        seg_q = (pos_q // s).view(-1, 1)
        pos_m = torch.arange(t).view(1, -1)
        own = (pos_m // s == seg_q)
        memory = (pos_m // s < seg_q) & (pos_m // s >= seg_q - mem)
        ids = [own, memory]
        rel = [pos_q.view(-1, 1) - pos_m] * 2
        kk, vv = [k, km], [v, vm]
        if comp:
            w = torch.arange(ks.shape[2]).view(1, -1)
            ids.append((w // per < seg_q - mem) & (w // per >= seg_q - mem - comp))
            slot_pos = (seg_q - mem) * s - comp * per + w - (seg_q - mem - comp) * per
            rel.append(pos_q.view(-1, 1) - slot_pos)
            kk, vv = kk + [ks], vv + [vs]
        mask, rel = torch.cat(ids, dim=1), torch.cat(rel, dim=1).clamp(-(s - 1), keys - 1)
        kk, vv = torch.cat(kk, dim=2), torch.cat(vv, dim=2)
        content = (q + m.u.view(1, 4, 1, 32)) @ kk.transpose(-1, -2)
        position = torch.einsum("bhid,hijd->bhij", q + m.v.view(1, 4, 1, 32), rk[:, rel + s - 1])
        logits = ((content + position) / math.sqrt(32)).masked_fill(~mask, float("-inf"))
        return torch.softmax(logits, dim=-1) @ vv

    km, vm = (torch.randn(2, 4, t, 32) * 0.3 for _ in range(2))
    ks, vs = (torch.randn(2, 4, t // 4, 32) * 0.3 for _ in range(2))
    xl_one, xl_zero = mk("xl", {"segment": 128, "memory": 1}), mk("xl", {"segment": t, "memory": 1})
    xl_mem = mk("xl", {"segment": 16, "memory": 2})
    cm = lambda fn: mk("compressive", {"segment": 16, "memory": 1, "compressed": 2, "rate": 4,
                                       "compression": fn})
    cm_conv = cm("conv")
    with torch.no_grad():
        xl_zero.r_net.weight.zero_()
        xl_zero.u.zero_()
        xl_zero.v.zero_()
        for m in (xl_one, xl_mem, cm_conv):
            m.u.normal_(0, 0.3)
            m.v.normal_(0, 0.3)
        cases += [
            ("xl, segment >= T, zero relative terms",
             xl_zero.mix_segments(q, k, v, km, vm, None), full, 1e-5),
            ("xl, segment >= T", xl_one.mix_segments(q, k, v, km, vm, None),
             segment_dense(xl_one, q, k, v, km, vm, None, None), 1e-5),
            ("xl, segment 16, memory 2", xl_mem.mix_segments(q, k, v, km, vm, None),
             segment_dense(xl_mem, q, k, v, km, vm, None, None), 1e-5),
            ("compressive, segment 16, memory 1, 2 compressed at rate 4",
             cm_conv.mix_segments(q, k, v, km, vm, (ks, vs)),
             segment_dense(cm_conv, q, k, v, km, vm, ks, vs), 1e-5),
        ]
    # The memory's input is stop-gradient: a loss on the last segments gives no gradient to the
    # rows before them (they enter only as memory or compressed memory).
    x = torch.randn(2, t, 128, requires_grad=True)
    for m, last in ((mk("xl", {"segment": 48, "memory": 1}), 48), (cm("mean"), 80)):
        m(x)[:, last:].sum().backward()
        cases.append((f"{m.variant}: no gradient through the memory", x.grad[:, :last].abs().max(),
                      torch.tensor(0.0), 0.0))
        x.grad = None
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
                   help="override an option (a JSON value), e.g. local.block=128, "
                        "longformer.global_tokens=[0,100], bigbird.style=lra")
    p.add_argument("--json", metavar="FILE",
                   help="also write the records and the environment to this JSON file")
    p.add_argument("--check", action="store_true",
                   help="check the mechanisms against masked full attention, then exit")
    p.add_argument("--list", action="store_true", help="print the known variants, then exit")
    p.add_argument("--child", help=argparse.SUPPRESS)  # "variant:length": measure one, print JSON
    a = p.parse_args()
    if a.list:
        print("\n".join(DEFAULTS))
        return
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
        try:
            value = json.loads(value)
        except ValueError:
            pass  # a bare string: bigbird.style=lra
        if type(value) is int and type(opts[variant][option]) is float:
            value = float(value)  # sinkhorn.temperature=1
        if type(value) is not type(opts[variant][option]):
            sys.exit(f"--set {s}: expected a JSON value like {json.dumps(opts[variant][option])}")
        opts[variant][option] = value
    variants, lengths = a.variants.split(","), list(map(int, a.lengths.split(",")))
    for variant in variants:
        if variant not in opts:
            sys.exit(f"--variants: unknown variant '{variant}' (known: {', '.join(opts)})")
        error = option_error(variant, opts[variant])
        if error:
            sys.exit(f"--set {error}")
    if a.child:
        variant, _, length = a.child.rpartition(":")
        step_s = measure(variant, int(length), a.batch, a.steps, opts[variant])
        print(json.dumps({"variant": variant, "length": int(length), "batch": a.batch,
                          "median_step_s": step_s, "peak_rss_bytes": peak_rss_bytes()}))
        return
    print(f"torch {torch.__version__}, {a.threads} threads, batch {a.batch}, "
          f"median of {a.steps} steps after 1 warm-up, one process per measurement")
    print("variant,length,step_s,rss_GB")
    common = [sys.executable, os.path.abspath(__file__), "--steps", str(a.steps), "--batch",
              str(a.batch), "--threads", str(a.threads)] + [x for s in a.set for x in ("--set", s)]
    records = []
    for variant in variants:
        for length in lengths:
            run = subprocess.run(common + ["--child", f"{variant}:{length}"],
                                 stdout=subprocess.PIPE, text=True)
            if run.returncode:
                sys.exit(f"the measurement {variant}:{length} failed (exit {run.returncode})")
            r = json.loads(run.stdout.strip().splitlines()[-1])
            records.append(r)
            print(f"{variant},{length},{r['median_step_s']:.3f},{r['peak_rss_bytes'] / 2**30:.3f}",
                  flush=True)
    if a.json:
        os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
        with open(a.json + ".tmp", "w") as f:
            json.dump({"records": records, "environment": environment(a.threads)}, f, indent=2)
            f.write("\n")
        os.replace(a.json + ".tmp", a.json)
        print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
