// Fused block attention against the double-precision naive reference (forward and backward),
// the reference against central finite differences, and the kernel's contracts: accumulation,
// key-padding invariance, bitwise determinism, empty key sets.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "attention/block_attention.h"
#include "attention/pattern_attention.h"
#include "core/rng.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;

namespace {

// q, k, v as slices of one fused (B, T, 3·H·D) buffer (or ld = H·D if not fused), plus dout.
struct AttentionCase {
    AttentionDims dims;
    int ld = 0, ldo = 0;
    std::vector<int32_t> lengths;
    std::vector<int32_t> key_lengths;  // empty: keys are masked by lengths
    AttentionParams params;
    const BlockPattern* pattern = nullptr;
    std::vector<float> qkv, dout;  // (B, T, ld), (B, T, ldo)

    AttentionCase(AttentionDims d, std::vector<int32_t> lens, bool fused, uint64_t seed)
        : dims(d), lengths(std::move(lens)) {
        const int C = d.H * d.D;
        ld = fused ? 3 * C : C;
        ldo = C + 3;  // deliberately not H*D
        params.scale = 1.0f / std::sqrt(float(d.D));
        Rng rng(seed);
        qkv.resize(size_t(fused ? 1 : 3) * d.B * d.T * ld);
        for (float& x : qkv) x = rng.normal();
        dout.resize(size_t(d.B) * d.T * ldo);
        for (float& x : dout) x = rng.normal();
    }
    size_t slice(int which) const {  // offset of q (0), k (1), v (2)
        const int C = dims.H * dims.D;
        return ld == 3 * C ? size_t(which) * C : size_t(which) * dims.B * dims.T * ld;
    }
    const float* q() const { return qkv.data() + slice(0); }
    const float* k() const { return qkv.data() + slice(1); }
    const float* v() const { return qkv.data() + slice(2); }
    size_t rows() const { return size_t(dims.B) * dims.T; }
    const int32_t* keys() const { return key_lengths.empty() ? nullptr : key_lengths.data(); }
};

struct FusedResult {
    std::vector<float> out, lse, grad;  // grad: (B, T, 3·ld_grad) with dq, dk, dv slices
    int ld_grad = 0;
};

FusedResult run_fused(const AttentionCase& c, bool backward = true) {
    FusedResult r;
    const int C = c.dims.H * c.dims.D;
    r.out.assign(c.rows() * c.ldo, 7.0f);  // garbage: forward must overwrite every element
    r.lse.assign(size_t(c.dims.B) * c.dims.H * c.dims.T, 7.0f);
    block_attention_forward(r.out.data(), c.ldo, r.lse.data(), c.q(), c.k(), c.v(), c.ld,
                            c.lengths.data(), c.dims, c.params, c.pattern, c.keys());
    if (!backward) return r;
    r.ld_grad = 3 * C;
    r.grad.assign(c.rows() * r.ld_grad, 0.0f);
    block_attention_backward(r.grad.data(), r.grad.data() + C, r.grad.data() + 2 * C, r.ld_grad,
                             c.dout.data(), c.ldo, r.out.data(), r.lse.data(), c.q(), c.k(), c.v(),
                             c.ld, c.lengths.data(), c.dims, c.params, c.pattern, c.keys());
    return r;
}

struct NaiveResult {
    std::vector<double> out, lse, grad;  // same layouts as FusedResult
};

NaiveResult run_naive(const AttentionCase& c) {
    NaiveResult r;
    const int C = c.dims.H * c.dims.D;
    std::vector<double> qkv(c.qkv.begin(), c.qkv.end()), dout(c.dout.begin(), c.dout.end());
    r.out.assign(c.rows() * c.ldo, 0.0);
    r.lse.assign(size_t(c.dims.B) * c.dims.H * c.dims.T, 0.0);
    block_attention_forward_naive(r.out.data(), c.ldo, r.lse.data(), qkv.data() + c.slice(0),
                                  qkv.data() + c.slice(1), qkv.data() + c.slice(2), c.ld,
                                  c.lengths.data(), c.dims, c.params, c.pattern, c.keys());
    r.grad.assign(c.rows() * 3 * C, 0.0);
    block_attention_backward_naive(r.grad.data(), r.grad.data() + C, r.grad.data() + 2 * C, 3 * C,
                                   dout.data(), c.ldo, qkv.data() + c.slice(0),
                                   qkv.data() + c.slice(1), qkv.data() + c.slice(2), c.ld,
                                   c.lengths.data(), c.dims, c.params, c.pattern, c.keys());
    return r;
}

// Max |a - b| over the H·D used columns of each row; -inf == -inf counts as equal.
template <class A, class B>
double max_abs_diff(const std::vector<A>& a, const std::vector<B>& b, size_t rows, int ld, int used,
                    std::string* where = nullptr) {
    double worst = 0.0;
    for (size_t r = 0; r < rows; ++r)
        for (int c = 0; c < used; ++c) {
            const double x = double(a[r * ld + c]), y = double(b[r * ld + c]);
            if (x == y) continue;
            const double e = std::isnan(x) || std::isnan(y) ? INFINITY : std::fabs(x - y);
            if (e > worst) {
                worst = e;
                if (where) *where = "row " + std::to_string(r) + " col " + std::to_string(c);
            }
        }
    return worst;
}

void check_against_naive(const AttentionCase& c, double tol = 2e-5) {
    const FusedResult f = run_fused(c);
    const NaiveResult n = run_naive(c);
    const int C = c.dims.H * c.dims.D;
    std::string where;
    const double e_out = max_abs_diff(f.out, n.out, c.rows(), c.ldo, C, &where);
    INFO("out worst at " << where);
    CHECK(e_out < tol);
    const double e_lse =
        max_abs_diff(f.lse, n.lse, size_t(c.dims.B) * c.dims.H, c.dims.T, c.dims.T, &where);
    INFO("lse worst at " << where);
    CHECK(e_lse < tol);
    const double e_grad = max_abs_diff(f.grad, n.grad, c.rows(), 3 * C, 3 * C, &where);
    INFO("grad (dq|dk|dv) worst at " << where);
    CHECK(e_grad < tol);
}

// Shared pattern: a global block [0, 16) plus a window of one block either side, and a band.
BlockPattern window_pattern(int T, int block, int band) {
    BlockPattern p;
    p.query_block = block;
    p.band = band;
    p.offsets.push_back(0);
    for (int qb = 0; qb < p.num_query_blocks(T); ++qb) {
        for (auto r : merge_ranges({{0, 16}, {(qb - 1) * block, (qb + 2) * block}}, T))
            p.ranges.push_back(r);
        p.offsets.push_back(int32_t(p.ranges.size()));
    }
    return p;
}

// Per-head pattern: each (h, query block) gets 0-3 random disjoint ranges.
BlockPattern random_pattern(int T, int H, int block, uint64_t seed) {
    BlockPattern p;
    p.query_block = block;
    p.per_head = true;
    p.offsets.push_back(0);
    Rng rng(seed);
    for (int e = 0; e < H * p.num_query_blocks(T); ++e) {
        std::vector<std::pair<int32_t, int32_t>> r;
        const int n = int(rng.uniform_int(0, 3));
        for (int k = 0; k < n; ++k) {
            const int b = int(rng.uniform_int(0, T - 1));
            r.push_back({b, b + int(rng.uniform_int(1, 40))});
        }
        for (auto x : merge_ranges(r, T)) p.ranges.push_back(x);
        p.offsets.push_back(int32_t(p.ranges.size()));
    }
    return p;
}

}  // namespace

TEST_CASE("block attention: full attention matches the naive reference") {
    struct Shape {
        AttentionDims dims;
        std::vector<int32_t> lengths;
        bool fused;
    };
    const std::vector<Shape> shapes = {
        {{2, 1, 1, 16}, {1, 0}, true},         {{2, 7, 2, 1}, {7, 3}, false},
        {{2, 65, 2, 32}, {65, 40}, true},      {{1, 130, 2, 48}, {130}, true},
        {{3, 130, 1, 16}, {0, 129, 17}, true}, {{1, 200, 1, 64}, {200}, false},
    };
    for (const Shape& s : shapes) {
        CAPTURE(s.dims.T);
        CAPTURE(s.dims.D);
        AttentionCase c(s.dims, s.lengths, s.fused, 11 + s.dims.T);
        check_against_naive(c);
    }
}

TEST_CASE(
    "block attention: separate key lengths match the naive reference, keys past them unread") {
    // Queries and keys of different lengths (cross attention): more keys than queries, fewer,
    // none, and a pattern on top.
    AttentionCase c({4, 130, 2, 32}, {130, 40, 77, 5}, true, 21);
    c.key_lengths = {17, 130, 0, 64};
    const int C = 2 * 32;
    for (int b = 0; b < 4; ++b)  // keys past key_lengths are NaN: reading one poisons a row
        for (int t = c.key_lengths[size_t(b)]; t < 130; ++t)
            for (int x = C; x < 3 * C; ++x) c.qkv[(size_t(b) * 130 + t) * 3 * C + x] = NAN;
    check_against_naive(c);
    const BlockPattern p = window_pattern(130, 32, 40);
    c.pattern = &p;
    check_against_naive(c);
}

TEST_CASE("block attention: banded block pattern matches the naive reference") {
    for (int D : {16, 32}) {
        AttentionCase c({2, 150, 2, D}, {150, 97}, true, 5);
        const BlockPattern p = window_pattern(150, 32, 40);
        c.pattern = &p;
        check_against_naive(c);
    }
}

TEST_CASE("block attention: per-head pattern with disjoint ranges matches the naive reference") {
    // query_block 20 is not a multiple of the 16-lane vectors; some blocks have no key at all.
    AttentionCase c({2, 130, 3, 32}, {130, 71}, true, 9);
    const BlockPattern p = random_pattern(130, 3, 20, 3);
    c.pattern = &p;
    check_against_naive(c);
    AttentionCase c48({1, 100, 2, 48}, {100}, false, 10);
    const BlockPattern p48 = random_pattern(100, 2, 100, 4);
    c48.pattern = &p48;
    check_against_naive(c48);
}

TEST_CASE("block attention: dropout matches the naive reference with the same mask") {
    AttentionCase c({2, 90, 2, 32}, {90, 50}, true, 21);
    c.params.dropout_p = 0.3f;
    c.params.dropout_seed = 1234;
    check_against_naive(c);
    const BlockPattern p = window_pattern(90, 16, 20);
    c.pattern = &p;
    check_against_naive(c);
    // The mask keeps about 1 - p of the elements.
    int kept = 0;
    for (int i = 0; i < 100; ++i)
        for (int j = 0; j < 100; ++j) kept += attention_dropout_keep(7, 1, 2, i, j, 0.3f);
    CHECK(kept > 6700);
    CHECK(kept < 7300);
}

TEST_CASE("block attention: naive backward matches central finite differences") {
    AttentionCase c({2, 6, 2, 3}, {6, 4}, true, 31);
    c.params.dropout_p = 0.25f;
    c.params.dropout_seed = 99;
    BlockPattern p;  // query block 2: keys [0, 3) for block 0, [1, 6) for 1, [0,1) + [4, 6) for 2
    p.query_block = 2;
    p.band = 3;
    p.offsets = {0, 1, 2, 4};
    p.ranges = {{0, 3}, {1, 6}, {0, 1}, {4, 6}};
    c.pattern = &p;
    for (bool self : {false, true}) {  // with mask_self, the diagonal is masked too
        c.params.mask_self = self;
        CAPTURE(self);
        const int C = c.dims.H * c.dims.D;
        std::vector<double> qkv(c.qkv.begin(), c.qkv.end()), r(c.dout.begin(), c.dout.end());
        auto loss = [&](const std::vector<double>& x) {
            std::vector<double> out(c.rows() * c.ldo), lse(size_t(c.dims.B) * c.dims.H * c.dims.T);
            block_attention_forward_naive(out.data(), c.ldo, lse.data(), x.data(), x.data() + C,
                                          x.data() + 2 * C, c.ld, c.lengths.data(), c.dims,
                                          c.params, &p);
            double l = 0.0;
            for (size_t i = 0; i < out.size(); ++i) l += r[i] * out[i];
            return l;
        };
        std::vector<double> grad(qkv.size(), 0.0);
        block_attention_backward_naive(
            grad.data(), grad.data() + C, grad.data() + 2 * C, c.ld, r.data(), c.ldo, qkv.data(),
            qkv.data() + C, qkv.data() + 2 * C, c.ld, c.lengths.data(), c.dims, c.params, &p);
        const auto fd = xb::test::worst_central_difference(qkv, loss, grad, 1e-5);
        INFO("worst coordinate " << fd.at << " (row " << fd.at / c.ld << ")");
        CHECK(fd.worst < 1e-7);
    }
}

TEST_CASE("block attention: mask_self matches the naive reference") {
    // Batch row 1 has one valid row: with itself masked its key set is empty.
    AttentionCase c({2, 130, 2, 16}, {130, 1}, true, 61);
    c.params.mask_self = true;
    check_against_naive(c);
    const BlockPattern p = window_pattern(130, 32, 40);
    c.pattern = &p;
    check_against_naive(c);
    c.params.dropout_p = 0.2f;
    c.params.dropout_seed = 5;
    check_against_naive(c);
    // A row whose only key is itself has an empty key set: output 0, lse -inf.
    AttentionCase alone({1, 3, 1, 4}, {1}, true, 62);
    alone.params.mask_self = true;
    const FusedResult a = run_fused(alone);
    for (int d = 0; d < 4; ++d) CHECK(a.out[size_t(d)] == 0.0f);
    CHECK(a.lse[0] == -std::numeric_limits<float>::infinity());
}

TEST_CASE("block attention: backward accumulates, runs are bitwise reproducible") {
    AttentionCase c({2, 100, 2, 32}, {100, 61}, true, 41);
    const FusedResult a = run_fused(c), b = run_fused(c);
    CHECK(std::memcmp(a.out.data(), b.out.data(), a.out.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(a.lse.data(), b.lse.data(), a.lse.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(a.grad.data(), b.grad.data(), a.grad.size() * sizeof(float)) == 0);

    // A second backward call adds the same gradient again: exactly 2x from zero.
    std::vector<float> g = a.grad;
    const int C = c.dims.H * c.dims.D;
    block_attention_backward(g.data(), g.data() + C, g.data() + 2 * C, a.ld_grad, c.dout.data(),
                             c.ldo, a.out.data(), a.lse.data(), c.q(), c.k(), c.v(), c.ld,
                             c.lengths.data(), c.dims, c.params, nullptr);
    bool doubled = true;
    for (size_t i = 0; i < g.size(); ++i) doubled &= g[i] == 2.0f * a.grad[i];
    CHECK(doubled);

    // Each head and query tile is computed whole by one thread: 1 thread gives the same bits.
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    const FusedResult one = run_fused(c);
    omp_set_num_threads(threads);
    CHECK(std::memcmp(a.out.data(), one.out.data(), a.out.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(a.grad.data(), one.grad.data(), a.grad.size() * sizeof(float)) == 0);
}

TEST_CASE("block attention: backward with overwrite writes every gradient element once") {
    // Buffers of NaN: an element overwrite leaves unwritten, or adds to, stays NaN. The result
    // must be bitwise the accumulated gradient from zero, with padding, empty examples, keys
    // shorter than queries and pattern blocks without keys.
    AttentionCase c({4, 130, 3, 32}, {130, 71, 0, 100}, true, 43);
    const BlockPattern p = random_pattern(130, 3, 20, 3);
    for (bool separate_keys : {false, true})
        for (const BlockPattern* pattern : {static_cast<const BlockPattern*>(nullptr), &p}) {
            CAPTURE(separate_keys);
            c.key_lengths =
                separate_keys ? std::vector<int32_t>{40, 130, 9, 0} : std::vector<int32_t>{};
            c.pattern = pattern;
            const FusedResult a = run_fused(c);
            std::vector<float> g(a.grad.size(), NAN);
            const int C = c.dims.H * c.dims.D;
            block_attention_backward(g.data(), g.data() + C, g.data() + 2 * C, a.ld_grad,
                                     c.dout.data(), c.ldo, a.out.data(), a.lse.data(), c.q(), c.k(),
                                     c.v(), c.ld, c.lengths.data(), c.dims, c.params, c.pattern,
                                     c.keys(), true);
            CHECK(std::memcmp(g.data(), a.grad.data(), g.size() * sizeof(float)) == 0);
        }
}

TEST_CASE("block attention: padded keys and queries change nothing at valid rows") {
    AttentionCase c({2, 80, 2, 16}, {80, 45}, true, 51);
    const BlockPattern p = window_pattern(80, 16, -1);
    for (const BlockPattern* pattern : {static_cast<const BlockPattern*>(nullptr), &p}) {
        c.pattern = pattern;
        const FusedResult a = run_fused(c);
        AttentionCase d = c;
        for (int t = 45; t < 80; ++t)  // q, k, v of example 1's padded positions
            for (int x = 0; x < d.ld; ++x) d.qkv[(size_t(80) + t) * d.ld + x] = 1e3f * (x % 7);
        const FusedResult b = run_fused(d);
        CHECK(a.out == b.out);
        CHECK(a.grad == b.grad);
        // Padded rows: output 0, lse -inf, no gradient.
        bool padded_zero = true;
        for (int t = 45; t < 80; ++t) {
            for (int x = 0; x < 32; ++x) padded_zero &= b.out[(size_t(80) + t) * c.ldo + x] == 0;
            for (int x = 0; x < 3 * 32; ++x)
                padded_zero &= b.grad[(size_t(80) + t) * b.ld_grad + x] == 0;
            padded_zero &= b.lse[(size_t(1) * 2 + 1) * 80 + t] == -INFINITY;
        }
        CHECK(padded_zero);
    }
}

TEST_CASE("block attention: rows with no keys give zeros, not NaN") {
    AttentionCase c({1, 40, 2, 16}, {40}, true, 61);
    BlockPattern p;  // block 0 attends [20, 40), block 1 nothing; band 5 empties rows 0..14
    p.query_block = 20;
    p.band = 5;
    p.offsets = {0, 1, 1};
    p.ranges = {{20, 40}};
    c.pattern = &p;
    const FusedResult f = run_fused(c);
    bool finite = true;
    for (float x : f.out) finite &= std::isfinite(x);
    for (float x : f.grad) finite &= std::isfinite(x);
    CHECK(finite);
    for (int i : {0, 14, 20, 39}) {
        CAPTURE(i);
        CHECK(f.out[size_t(i) * c.ldo] == 0.0f);
        CHECK(f.lse[i] == -INFINITY);
        CHECK(f.grad[size_t(i) * f.ld_grad] == 0.0f);  // dq
    }
    CHECK(std::isfinite(f.lse[15]));
    check_against_naive(c);
}

TEST_CASE(
    "block attention: explicit query blocks and band-exempt ranges match the naive reference") {
    // Rows 0 and 3..4 are blocks of their own (global rows: all keys, no band); the others are
    // blocks of up to 70 rows (more than one query tile) with a banded window plus band-exempt
    // global columns [0, 1) and [3, 5).
    const int T = 150;
    BlockPattern p;
    p.band = 6;
    p.per_head = true;
    p.block_starts = {0, 1, 3, 5, 75, 140, T};
    p.offsets.push_back(0);
    for (int h = 0; h < 2; ++h)
        for (size_t qb = 0; qb + 1 < p.block_starts.size(); ++qb) {
            const int s = p.block_starts[qb], e = p.block_starts[qb + 1];
            if (qb == 0 || qb == 2) {
                p.ranges.push_back({0, T});
                p.band_exempt.push_back(1);
            } else {
                p.ranges.push_back({0, 1});
                p.band_exempt.push_back(1);
                p.ranges.push_back({3, 5});
                p.band_exempt.push_back(1);
                const int lo = std::max(5, s - 6 - h), hi = std::min(T, e + 6);
                if (lo < hi) {
                    p.ranges.push_back({lo, hi});
                    p.band_exempt.push_back(0);
                }
            }
            p.offsets.push_back(int32_t(p.ranges.size()));
        }
    for (int D : {16, 32}) {
        AttentionCase c({2, T, 2, D}, {T, 90}, true, 71);
        c.pattern = &p;
        check_against_naive(c);
    }
    // Without the exemption the band would hide the global columns from rows far from them.
    AttentionCase c({1, T, 2, 16}, {T}, true, 72);
    c.pattern = &p;
    const FusedResult exempt = run_fused(c, false);
    BlockPattern banded = p;
    banded.band_exempt.assign(p.ranges.size(), 0);
    c.pattern = &banded;
    const FusedResult all_banded = run_fused(c, false);
    CHECK(max_abs_diff(exempt.out, all_banded.out, c.rows(), c.ldo, 32) > 1e-3);
    check_against_naive(c);
}

TEST_SUITE_END();
