// Throughput of the fused full-attention kernel against the machine's sgemm peak, for
// `xformer-bench speed --kernel`. FLOPs are counted as forward 4·B·H·T²·D (QKᵀ and PV) and
// backward 10·B·H·T²·D (QKᵀ recomputed, dV, dP, dQ, dK).
#pragma once
#include <nlohmann/json.hpp>

namespace xb {

struct KernelSpeed {
    int B, H, D, T;
    double forward_s, backward_s;  // medians
    double forward_gflops, backward_gflops, total_gflops;
};

KernelSpeed measure_full_attention_kernel(int B, int H, int D, int T, int repeats);
// GFLOP/s of one n×n×n sgemm through the project's GEMM wrapper (median of repeats).
double measure_sgemm_gflops(int n, int repeats);
nlohmann::json to_json(const KernelSpeed& k);

}  // namespace xb
