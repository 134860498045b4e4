// segment_attention (segment_attention.cpp), the op under `xl` and `compressive`: its backward
// against finite differences for every input (queries, own and memory keys and values,
// compressed slots, u, v, relative keys) with several segments, a memory, compressed slots and
// padding, with and without attention dropout; the dropout mask is a pure function of the seed.
// The forward is checked against a naive reference through the mixers
// (tests/attention/test_segment_recurrence.cpp).
#include <doctest/doctest.h>

#include "ops/ops.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

namespace {

struct Inputs {
    std::vector<Var> vars;
    Inputs(const SegmentLayout& lay, int64_t B, int64_t T, int64_t C, int64_t Tc) {
        const Shape shapes[] = {{B, T, C}, {B, T, 2 * C}, {B, T, 2 * C},     {B, Tc, 2 * C},
                                {C},       {C},           {lay.offsets(), C}};
        const char* names[] = {"q", "kv", "kvm", "kvc", "u", "v", "rk"};
        for (int i = 0; i < 7; ++i)
            vars.push_back(
                make_var(random_tensor(shapes[i], 10 + uint64_t(i), 0.6f), true, names[i]));
    }
};

}  // namespace

TEST_CASE("segment_attention: gradients of every input, several segments, memory and slots") {
    SegmentLayout lay;
    lay.segment = 3, lay.memory = 1, lay.compressed = 2, lay.rate = 3;
    const int64_t B = 2, T = 11, C = 4, Tc = 2;  // segments 0..3; segment 3 reads slots 0, 1
    const std::vector<int32_t> lengths{11, 8};
    for (float p : {0.0f, 0.3f}) {
        CAPTURE(p);
        Inputs in(lay, B, T, C, Tc);
        auto f = [&](const std::vector<Var>& v) {
            return segment_attention(v[0], v[1], v[2], v[3], v[4], v[5], v[6], 2, lay, lengths,
                                     0.7f, p, 99);
        };
        GradcheckOptions opt;
        opt.max_coords = 40;
        gradcheck(f, in.vars, opt);
        NoGradGuard no_grad;
        Tensor y1 = f(in.vars)->value.clone();
        CHECK(max_abs_diff(y1, f(in.vars)->value) == 0.0);
    }
}

TEST_CASE(
    "segment_attention: padded rows output zero; padded keys and unread slots do not matter") {
    SegmentLayout lay;
    lay.segment = 4, lay.memory = 1, lay.compressed = 1, lay.rate = 2;
    const int64_t B = 2, T = 12, C = 4, Tc = 2;
    const std::vector<int32_t> lengths{12, 6};
    NoGradGuard no_grad;
    Inputs in(lay, B, T, C, Tc);
    auto f = [&] {
        const std::vector<Var>& v = in.vars;
        return segment_attention(v[0], v[1], v[2], v[3], v[4], v[5], v[6], 2, lay, lengths, 0.5f,
                                 0.0f, 0)
            ->value.clone();
    };
    Tensor y1 = f();
    for (int64_t t = 6; t < T; ++t)
        for (int64_t c = 0; c < C; ++c) CHECK(y1.data()[(T + t) * C + c] == 0.0f);
    // Example 1 (6 valid rows, segments 0 and 1) reads no compressed slot; its padded rows of
    // the keys, values and memory are never read either.
    for (int k : {1, 2, 3})
        for (int64_t t = (k == 3 ? 0 : 6); t < (k == 3 ? Tc : T); ++t)
            for (int64_t c = 0; c < 2 * C; ++c)
                in.vars[size_t(k)]->value.data()[((k == 3 ? Tc : T) + t) * 2 * C + c] += 5.0f;
    CHECK(max_abs_diff(f(), y1) == 0.0);
}

TEST_SUITE_END();
