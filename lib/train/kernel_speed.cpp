// Kernel throughput measurement; see kernel_speed.h.
#include "train/kernel_speed.h"

#include <chrono>
#include <cmath>
#include <vector>

#include "attention/block_attention.h"
#include "core/gemm.h"
#include "core/median.h"
#include "core/rng.h"

namespace xb {

namespace {

using Clock = std::chrono::steady_clock;

template <typename F>
double median_seconds(int repeats, F&& f) {
    std::vector<double> t;
    for (int r = 0; r < repeats; ++r) {
        auto t0 = Clock::now();
        f();
        t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    return median(t);
}

std::vector<float> random_buffer(size_t n, uint64_t stream) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = random_normal(1234, stream, i);
    return v;
}

}  // namespace

KernelSpeed measure_full_attention_kernel(int B, int H, int D, int T, int repeats) {
    const int C = H * D, ld = 3 * C;
    const size_t rows = size_t(B) * T;
    std::vector<float> qkv = random_buffer(rows * ld, 1), dout = random_buffer(rows * C, 2);
    std::vector<float> out(rows * C), lse(size_t(B) * H * T), dqkv(rows * ld, 0.0f);
    std::vector<int32_t> lengths(size_t(B), T);
    const AttentionDims dims{B, T, H, D};
    AttentionParams p;
    p.scale = 1.0f / std::sqrt(float(D));
    const float* q = qkv.data();
    auto forward = [&] {
        block_attention_forward(out.data(), C, lse.data(), q, q + C, q + 2 * C, ld, lengths.data(),
                                dims, p, nullptr);
    };
    auto backward = [&] {
        float* d = dqkv.data();
        block_attention_backward(d, d + C, d + 2 * C, ld, dout.data(), C, out.data(), lse.data(), q,
                                 q + C, q + 2 * C, ld, lengths.data(), dims, p, nullptr);
    };
    forward();  // warm-up (and the out/lse that backward reads)
    backward();
    KernelSpeed k{B, H, D, T, median_seconds(repeats, forward), median_seconds(repeats, backward),
                  0, 0, 0};
    const double unit = double(B) * H * double(T) * T * D;
    k.forward_gflops = 4 * unit / k.forward_s * 1e-9;
    k.backward_gflops = 10 * unit / k.backward_s * 1e-9;
    k.total_gflops = 14 * unit / (k.forward_s + k.backward_s) * 1e-9;
    return k;
}

double measure_sgemm_gflops(int n, int repeats) {
    std::vector<float> a = random_buffer(size_t(n) * n, 3), b = random_buffer(size_t(n) * n, 4);
    std::vector<float> c(size_t(n) * n);
    auto run = [&] {
        gemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    };
    run();
    return 2.0 * double(n) * n * n / median_seconds(repeats, run) * 1e-9;
}

nlohmann::json to_json(const KernelSpeed& k) {
    return {{"B", k.B},
            {"H", k.H},
            {"D", k.D},
            {"length", k.T},
            {"forward_s", k.forward_s},
            {"backward_s", k.backward_s},
            {"forward_gflops", k.forward_gflops},
            {"backward_gflops", k.backward_gflops},
            {"total_gflops", k.total_gflops}};
}

}  // namespace xb
