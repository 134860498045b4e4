// Token embedding lookup, learned or fixed position tables, and the sinusoidal table. The
// embedding backward scatters many tokens into few vocabulary rows (LRA vocabularies are 10–300
// ids), so it is parallel over column blocks of the table: race-free and thread-count independent.
#include <algorithm>
#include <cmath>

#include "core/parallel_grain.h"
#include "ops/ops.h"

namespace xb {

namespace {
// 16 floats = one 64-byte cache line, so threads never write to the same line of the table.
constexpr int64_t kColumnBlock = 16;
}  // namespace

// ids (N) in [0, V), table (V, C) -> out (N, C)
static void embedding_forward(float* out, const int32_t* ids, const float* table, float scale,
                              int64_t N, int64_t C) {
#pragma omp parallel for schedule(static) if (N * C >= kMinParallelWork)
    for (int64_t n = 0; n < N; ++n) {
        const float* src = table + int64_t(ids[n]) * C;
        float* dst = out + n * C;
        for (int64_t c = 0; c < C; ++c) dst[c] = scale * src[c];
    }
}

// dtable (V, C) row ids[n] += scale * dout (N, C) row n, summed in token order for every column
// block
static void embedding_backward(float* dtable, const float* dout, const int32_t* ids, float scale,
                               int64_t N, int64_t C) {
    int64_t blocks = (C + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for schedule(static) if (N * C >= kMinParallelWork)
    for (int64_t blk = 0; blk < blocks; ++blk) {
        int64_t c0 = blk * kColumnBlock, c1 = std::min(C, c0 + kColumnBlock);
        for (int64_t n = 0; n < N; ++n) {
            float* dst = dtable + int64_t(ids[n]) * C;
            const float* src = dout + n * C;
            for (int64_t c = c0; c < c1; ++c) dst[c] += scale * src[c];
        }
    }
}

// ids (B*T), table (V, C) -> (B, T, C) = scale * table[ids]
Var embedding(const std::vector<int32_t>& ids, int64_t B, int64_t T, const Var& table,
              float scale) {
    XB_CHECK(table->value.ndim() == 2, "embedding: table must be (V, C), got {}",
             table->value.shape());
    XB_CHECK(int64_t(ids.size()) == B * T, "embedding: {} ids for B={} T={}", ids.size(), B, T);
    int64_t V = table->value.dim(0), C = table->value.dim(1);
    for (size_t n = 0; n < ids.size(); ++n)
        XB_CHECK(ids[n] >= 0 && ids[n] < V, "embedding: id {} at {} outside [0, {})", ids[n], n, V);
    Var out = make_var(Tensor::empty({B, T, C}));
    embedding_forward(out->value.data(), ids.data(), table->value.data(), scale, B * T, C);
    if (needs_grad({&table})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                embedding_backward(table->grad_buffer().data(), out->grad.data(), ids.data(), scale,
                                   B * T, C);
            },
            {out});
    }
    return out;
}

// x (B, T, C), table (Tmax, C) -> out (B, T, C) = x + table[0:T]
static void add_positions_forward(float* out, const float* x, const float* table, int64_t B,
                                  int64_t T, int64_t C) {
#pragma omp parallel for schedule(static) if (B * T * C >= kMinParallelWork)
    for (int64_t row = 0; row < B * T; ++row) {
        const float* pos = table + (row % T) * C;
        for (int64_t c = 0; c < C; ++c) out[row * C + c] = x[row * C + c] + pos[c];
    }
}

// dx (B, T, C) += dout; dtable (Tmax, C) rows 0..T-1 += Σ_b dout[b]. Either may be null.
static void add_positions_backward(float* dx, float* dtable, const float* dout, int64_t B,
                                   int64_t T, int64_t C) {
    if (dx) {
#pragma omp parallel for schedule(static) if (B * T * C >= kMinParallelWork)
        for (int64_t i = 0; i < B * T * C; ++i) dx[i] += dout[i];
    }
    if (dtable) {
        // Parallel over positions: each thread owns its table rows and sums the batch in order.
#pragma omp parallel for schedule(static) if (B * T * C >= kMinParallelWork)
        for (int64_t t = 0; t < T; ++t)
            for (int64_t b = 0; b < B; ++b) {
                const float* src = dout + (b * T + t) * C;
                for (int64_t c = 0; c < C; ++c) dtable[t * C + c] += src[c];
            }
    }
}

// x (B, T, C), table (Tmax, C) with T <= Tmax -> (B, T, C)
Var add_positions(const Var& x, const Var& table) {
    const Shape& xs = x->value.shape();
    const Shape& ts = table->value.shape();
    XB_CHECK(xs.ndim == 3 && ts.ndim == 2 && xs[2] == ts[1] && xs[1] <= ts[0],
             "add_positions: x {} needs (B, T, C) with table (Tmax >= T, C), got table {}", xs, ts);
    int64_t B = xs[0], T = xs[1], C = xs[2];
    Var out = make_var(Tensor::empty(xs));
    add_positions_forward(out->value.data(), x->value.data(), table->value.data(), B, T, C);
    if (needs_grad({&x, &table})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                add_positions_backward(x->requires_grad ? x->grad_buffer().data() : nullptr,
                                       table->requires_grad ? table->grad_buffer().data() : nullptr,
                                       out->grad.data(), B, T, C);
            },
            {out});
    }
    return out;
}

// (Tmax, C): column 2i is sin(pos / 10000^(2i/C)), column 2i+1 is cos of the same angle.
Tensor sinusoidal_table(int64_t Tmax, int64_t C) {
    Tensor table = Tensor::empty({Tmax, C});
    float* data = table.data();
    // Angles reach Tmax radians; computing them in double keeps every entry accurate to float.
#pragma omp parallel for schedule(static) if (Tmax * C >= kMinParallelWork)
    for (int64_t pos = 0; pos < Tmax; ++pos)
        for (int64_t c = 0; c < C; ++c) {
            double inv_freq = std::pow(10000.0, -double(c - c % 2) / double(C));
            double angle = double(pos) * inv_freq;
            data[pos * C + c] = float(c % 2 == 0 ? std::sin(angle) : std::cos(angle));
        }
    return table;
}

}  // namespace xb
