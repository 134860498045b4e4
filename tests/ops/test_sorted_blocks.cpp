// The Sparse Sinkhorn ops (sorted_blocks.cpp): block means, Sinkhorn normalisation, the soft
// permutation of blocks and the own + sorted block attention, against direct definitions, and
// their backward passes against finite differences.
#include <doctest/doctest.h>

#include <cmath>

#include "ops/ops.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

TEST_CASE("block_means: means over the valid rows of each block, a short last block included") {
    const std::vector<int32_t> lengths = {7, 4};
    const int64_t T = 7, D = 2;
    Tensor x = random_tensor({2, 1, T, D}, 1);
    Var y = block_means(make_var(x), lengths, 3);  // blocks [0,3) [3,6) [6,7)
    CHECK(y->value.shape() == Shape{2, 1, 3, D});
    std::vector<double> ref;
    for (int b = 0; b < 2; ++b)
        for (int j = 0; j < 3; ++j)
            for (int d = 0; d < D; ++d) {
                const int lo = 3 * j, hi = std::min({3 * j + 3, int(T), lengths[size_t(b)]});
                double sum = 0;
                for (int t = lo; t < hi; ++t) sum += x.data()[(b * T + t) * D + d];
                ref.push_back(hi > lo ? sum / (hi - lo) : 0.0);
            }
    CHECK(max_abs_diff(y->value, ref) < 1e-6);
    CHECK(valid_block_counts(T, 3, lengths) == std::vector<int32_t>{3, 2});
    CHECK(valid_block_counts(T, 3, {0, 3}) == std::vector<int32_t>{0, 1});
    Var xv = make_var(random_tensor({2, 2, 7, 3}, 2), true, "x");
    gradcheck([&](const std::vector<Var>& in) { return block_means(in[0], lengths, 3); }, {xv});
}

TEST_CASE("sinkhorn_normalize: doubly stochastic on the valid blocks, zero elsewhere") {
    const std::vector<int32_t> valid = {4, 2};
    Tensor logits = random_tensor({2, 3, 4, 4}, 3);
    Var p = sinkhorn_normalize(make_var(logits), valid, 50, 1.0f);
    for (int b = 0; b < 2; ++b)
        for (int g = 0; g < 3; ++g) {
            const float* m = p->value.data() + (b * 3 + g) * 16;
            const int n = valid[size_t(b)];
            for (int a = 0; a < 4; ++a) {
                double row = 0, col = 0;
                for (int c = 0; c < 4; ++c) {
                    row += m[a * 4 + c];
                    col += m[c * 4 + a];
                    if (a >= n || c >= n) CHECK(m[a * 4 + c] == 0.0f);
                }
                CHECK(row == doctest::Approx(a < n ? 1.0 : 0.0).epsilon(1e-4));
                CHECK(col == doctest::Approx(a < n ? 1.0 : 0.0).epsilon(1e-4));
            }
        }
    // One iteration at temperature 1 is a row softmax followed by a column normalisation.
    Tensor one = random_tensor({1, 1, 3, 3}, 4);
    Var p1 = sinkhorn_normalize(make_var(one), {3}, 1, 1.0f);
    double row_soft[9];
    for (int a = 0; a < 3; ++a) {
        double s = 0;
        for (int c = 0; c < 3; ++c) s += std::exp(double(one.data()[a * 3 + c]));
        for (int c = 0; c < 3; ++c)
            row_soft[a * 3 + c] = std::exp(double(one.data()[a * 3 + c])) / s;
    }
    std::vector<double> ref(9);
    for (int c = 0; c < 3; ++c) {
        const double s = row_soft[c] + row_soft[3 + c] + row_soft[6 + c];
        for (int a = 0; a < 3; ++a) ref[size_t(a * 3 + c)] = row_soft[a * 3 + c] / s;
    }
    CHECK(max_abs_diff(p1->value, ref) < 1e-6);
    Var lv = make_var(random_tensor({2, 2, 4, 4}, 5), true, "logits");
    gradcheck(
        [&](const std::vector<Var>& in) { return sinkhorn_normalize(in[0], valid, 3, 0.75f); },
        {lv});
}

TEST_CASE("permute_blocks: a permutation matrix moves whole blocks; padded rows count as zero") {
    const std::vector<int32_t> lengths = {8, 5};
    const int64_t T = 8, D = 2, block = 3, N = 3;  // blocks [0,3) [3,6) [6,8)
    Tensor x = random_tensor({2, 1, T, D}, 6);
    Tensor p = Tensor::zeros({2, 1, N, N});
    const int perm[3] = {2, 0, 1};  // sorted block i is block perm[i]
    for (int b = 0; b < 2; ++b)
        for (int i = 0; i < N; ++i) p.data()[(b * N + i) * N + perm[i]] = 1.0f;
    Var y = permute_blocks(make_var(p), make_var(x), lengths, block);
    CHECK(y->value.shape() == Shape{2, 1, N * block, D});
    std::vector<double> ref;
    for (int b = 0; b < 2; ++b)
        for (int i = 0; i < N; ++i)
            for (int r = 0; r < block; ++r)
                for (int d = 0; d < D; ++d) {
                    const int t = perm[i] * block + r;
                    ref.push_back(t < std::min<int>(T, lengths[size_t(b)])
                                      ? x.data()[(b * T + t) * D + d]
                                      : 0.0);
                }
    CHECK(max_abs_diff(y->value, ref) < 1e-7);
    Var pv = make_var(random_tensor({2, 2, N, N}, 7), true, "p");
    Var xv = make_var(random_tensor({2, 2, T, D}, 8), true, "x");
    gradcheck([&](const std::vector<Var>& in) { return permute_blocks(in[0], in[1], lengths, 3); },
              {pv, xv});
}

namespace {

// Direct definition: one softmax over the block's own valid keys and sorted slots p < len.
std::vector<double> own_and_sorted_reference(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const Tensor& ks, const Tensor& vs,
                                             const std::vector<int32_t>& lengths, int block,
                                             double scale) {
    const int64_t B = q.dim(0), G = q.dim(1), T = q.dim(2), D = q.dim(3);
    const int64_t N = (T + block - 1) / block;
    std::vector<double> out(size_t(q.numel()), 0.0);
    for (int64_t bg = 0; bg < B * G; ++bg) {
        const int64_t len = lengths[size_t(bg / G)];
        for (int64_t r = 0; r < len; ++r) {
            const int64_t i = r / block;
            std::vector<const float*> keys, values;
            for (int64_t j = i * block; j < std::min((i + 1) * block, len); ++j) {
                keys.push_back(k.data() + (bg * T + j) * D);
                values.push_back(v.data() + (bg * T + j) * D);
            }
            for (int64_t p = 0; p < std::min<int64_t>(block, len); ++p) {
                keys.push_back(ks.data() + ((bg * N + i) * block + p) * D);
                values.push_back(vs.data() + ((bg * N + i) * block + p) * D);
            }
            std::vector<double> s;
            double m = -1e300, sum = 0;
            for (const float* kc : keys) {
                double dot = 0;
                for (int64_t e = 0; e < D; ++e)
                    dot += double(q.data()[(bg * T + r) * D + e]) * kc[e];
                s.push_back(scale * dot);
                m = std::max(m, s.back());
            }
            for (double& x : s) sum += (x = std::exp(x - m));
            for (size_t c = 0; c < s.size(); ++c)
                for (int64_t e = 0; e < D; ++e)
                    out[size_t((bg * T + r) * D + e)] += s[c] / sum * values[c][e];
        }
    }
    return out;
}

}  // namespace

TEST_CASE("own_and_sorted_block_attention: equals the direct definition; backward") {
    const std::vector<int32_t> lengths = {8, 5};
    const int block = 3, T = 8, D = 4, N = 3;
    Tensor q = random_tensor({2, 2, T, D}, 9), k = random_tensor({2, 2, T, D}, 10);
    Tensor v = random_tensor({2, 2, T, D}, 11), ks = random_tensor({2, 2, N * block, D}, 12);
    Tensor vs = random_tensor({2, 2, N * block, D}, 13);
    Var y = own_and_sorted_block_attention(make_var(q), make_var(k), make_var(v), make_var(ks),
                                           make_var(vs), lengths, block, 0.5f, 0.0f, 0);
    CHECK(max_abs_diff(y->value, own_and_sorted_reference(q, k, v, ks, vs, lengths, block, 0.5)) <
          1e-5);
    std::vector<Var> in;
    for (const Tensor* t : {&q, &k, &v, &ks, &vs}) in.push_back(make_var(t->clone(), true, "in"));
    for (float p : {0.0f, 0.3f}) {
        CAPTURE(p);
        gradcheck(
            [&](const std::vector<Var>& x) {
                return own_and_sorted_block_attention(x[0], x[1], x[2], x[3], x[4], lengths, block,
                                                      0.5f, p, 17);
            },
            in);
    }
}

// Rows of up to 42 keys (own block + sorted block) take the softmax's full-vector passes (16 or 8
// lanes) and their tails.
TEST_CASE("own_and_sorted_block_attention: blocks longer than a SIMD vector") {
    const std::vector<int32_t> lengths = {50, 33};
    const int block = 21, T = 50, D = 4, N = 3;
    Tensor q = random_tensor({2, 1, T, D}, 19, 1.5f), k = random_tensor({2, 1, T, D}, 20, 1.5f);
    Tensor v = random_tensor({2, 1, T, D}, 21), ks = random_tensor({2, 1, N * block, D}, 22);
    Tensor vs = random_tensor({2, 1, N * block, D}, 23);
    std::vector<Var> in;
    for (const Tensor* t : {&q, &k, &v, &ks, &vs}) in.push_back(make_var(t->clone(), true, "in"));
    auto f = [&](const std::vector<Var>& x) {
        return own_and_sorted_block_attention(x[0], x[1], x[2], x[3], x[4], lengths, block, 0.5f,
                                              0.0f, 0);
    };
    CHECK(max_abs_diff(f(in)->value,
                       own_and_sorted_reference(q, k, v, ks, vs, lengths, block, 0.5)) < 1e-5);
    tape().clear();
    gradcheck(f, in);
}

TEST_SUITE_END();
