// The memory estimate that `run` and `speed` check before allocating is within 20% of the peak
// the tracked pool measures over two training steps (the second one has every gradient
// allocated), for every registered variant (default options) at four small shapes: single
// sequences with mean pooling, sinusoidal positions and dropout; CLS pooling with learned
// positions and no dropout; the two-tower retrieval model; and a longer sequence.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>

#include "attention/mixer.h"
#include "core/memory_pool.h"
#include "model/memory_estimate.h"
#include "setup/run_setup.h"
#include "support/simd_once.h"
#include "tasks/task.h"
#include "train/speed.h"

using namespace xb;

TEST_SUITE_BEGIN("integration");

namespace {

struct EstimateCase {
    const char* task;
    int batch, length, dim, heads, ffn, layers;
    const char* pooling;
    const char* positions;
    float dropout;
};

const EstimateCase kCases[] = {
    {"listops", 4, 96, 32, 4, 64, 2, "mean", "sinusoidal", 0.1f},
    {"listops", 2, 192, 64, 2, 96, 1, "cls", "learned", 0.0f},
    {"retrieval", 2, 128, 32, 4, 64, 2, "mean", "sinusoidal", 0.1f},
    {"listops", 2, 512, 64, 4, 128, 1, "mean", "sinusoidal", 0.1f},
};

RunConfig case_config(const EstimateCase& c, const std::string& variant) {
    RunConfig cfg;
    cfg.task.name = c.task;
    cfg.task.max_len = c.length;
    cfg.model.dim = c.dim;
    cfg.model.heads = c.heads;
    cfg.model.ffn_dim = c.ffn;
    cfg.model.layers = c.layers;
    cfg.model.pooling = c.pooling;
    cfg.model.positions = c.positions;
    cfg.model.dropout = c.dropout;
    cfg.model.attention.variant = variant;
    return cfg;
}

// The estimate and the pool's peak over a warm-up step and a timed one.
void check_estimate(const RunConfig& cfg, const EstimateCase& c) {
    const RunSetup setup = check_run_setup(cfg);
    auto task = make_task(cfg.task);
    TrainingShape shape;
    shape.vocab = task->vocab_size();
    shape.classes = task->num_classes();
    shape.pair = task->is_pair();
    shape.batch = c.batch;
    shape.length = c.length;
    shape.threads = omp_get_max_threads();
    const double estimate = estimate_training_memory(cfg, *setup.variant, shape).total();
    MemoryPool& pool = MemoryPool::instance();
    pool.reset_peak();
    const size_t before = pool.current_bytes();
    measure_speed(setup, c.length, c.batch, 1, 1);
    const size_t measured = pool.peak_bytes() - before;
    const double ratio = estimate / double(measured);
    CAPTURE(estimate);
    CAPTURE(measured);
    CAPTURE(ratio);
    CHECK(ratio >= 0.8);
    CHECK(ratio <= 1.2);
}

}  // namespace

TEST_CASE("memory estimate: within 20% of the measured peak for every variant") {
    if (!test::on_best_simd_target()) return;  // tensor sizes do not depend on the target
    for (const auto& entry : variant_registry()) {
        for (const EstimateCase& c : kCases) {
            CAPTURE(std::string(entry.name));
            CAPTURE(std::string(c.task));
            CAPTURE(c.length);
            check_estimate(case_config(c, entry.name), c);
        }
    }
}

TEST_CASE("memory estimate: within 20% with the options that change a mixer's tensors") {
    if (!test::on_best_simd_target()) return;  // tensor sizes do not depend on the target
    struct OptionCase {
        const char* variant;
        const char* options;
        float attention_dropout;
    } cases[] = {
        {"sparse", R"({"pattern": "strided"})", 0.0f},
        {"longformer", R"({"global_projections": false})", 0.0f},
        {"synthesizer", R"({"mode": "dense"})", 0.1f},
        {"synthesizer", R"({"mode": "factorized_random", "mix_dot_product": true})", 0.0f},
        {"linformer", R"({"k": 32, "share_kv": true, "share_heads": true})", 0.1f},
        {"performer", R"({"features": 64, "kernel": "relu"})", 0.0f},
        {"nystrom", R"({"landmarks": 16, "pinv_iterations": 3})", 0.1f},
        {"s4d", R"({"state": 16, "bidirectional": false, "output": "linear"})", 0.0f},
        {"sinkhorn", R"({"block": 16, "iterations": 3})", 0.1f},
        {"routing", R"({"cluster_size": 16, "local_heads": 1, "window": 32})", 0.1f},
        {"xl", R"({"segment": 32, "memory": 2})", 0.1f},
        {"compressive", R"({"segment": 16, "memory": 1, "compressed": 2, "rate": 4})", 0.0f},
        {"compressive", R"({"segment": 16, "compression": "mean"})", 0.1f},
        {"reformer", R"({"n_hashes": 4, "chunk": 16, "n_buckets": 8})", 0.1f},
        {"full", "{}", 0.1f},
    };
    for (const OptionCase& o : cases) {
        for (const EstimateCase& c : {kCases[0], kCases[1]}) {
            CAPTURE(std::string(o.variant));
            CAPTURE(std::string(o.options));
            CAPTURE(c.length);
            RunConfig cfg = case_config(c, o.variant);
            cfg.model.attention.options = nlohmann::json::parse(o.options);
            cfg.model.attention.dropout = o.attention_dropout;
            check_estimate(cfg, c);
        }
    }
}

TEST_SUITE_END();
