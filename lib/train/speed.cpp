// Speed measurement; see speed.h.
#include "train/speed.h"

#include <algorithm>
#include <chrono>

#include "core/distributed.h"
#include "core/errors.h"
#include "core/median.h"
#include "core/memory_pool.h"
#include "core/rng.h"
#include "model/classifier.h"
#include "ops/ops.h"
#include "optim/adamw.h"
#include "optim/schedule.h"
#include "tasks/task.h"
#include "train/data_parallel.h"
#include "train/trainer.h"

namespace xb {

// Rows [first, last) of a (batch, length) batch of random tokens.
static SequenceBatch random_sequences(int64_t first, int64_t last, int length, int vocab,
                                      uint64_t seed) {
    SequenceBatch s;
    s.B = last - first;
    s.T = length;
    Rng rng(seed, 77);
    for (int64_t i = 0; i < last * s.T; ++i) {
        int32_t id = int32_t(rng.uniform_int(1, vocab - 1));
        if (i >= first * s.T) s.ids.push_back(id);
    }
    s.lengths.assign(size_t(s.B), length);
    return s;
}

SpeedResult measure_speed(const RunSetup& setup, int length, int batch, int steps, int warmup) {
    using Clock = std::chrono::steady_clock;
    const RunConfig& cfg = setup.config;
    auto task = make_task(cfg.task);
    Classifier model(cfg.model, *setup.variant, task->vocab_size(), task->num_classes(), length,
                     task->is_pair(), cfg.seed);
    AdamW optimizer(model.params(), cfg.optim);
    // Under MPI, `batch` is the global batch and this rank takes its fixed share of the rows.
    if (batch < world_size())
        throw ConfigError(
            fmt::format("--batch {} must be at least the MPI rank count {}", batch, world_size()));
    const auto [first, last] = rank_share(batch, world_rank(), world_size());
    GradientSync gradient_sync(model.params());
    Batch b;
    b.first = random_sequences(first, last, length, task->vocab_size(), cfg.seed);
    if (task->is_pair())
        b.second = random_sequences(first, last, length, task->vocab_size(), cfg.seed + 1);
    for (int64_t i = first; i < last; ++i) b.labels.push_back(int32_t(i % task->num_classes()));

    std::vector<double> total, fwd, bwd, opt, comm;
    for (int step = 1; step <= warmup + steps; ++step) {
        const double comm0 = communication_seconds();
        auto t0 = Clock::now();
        Var loss = cross_entropy(model.forward(b, true, step), b.labels);
        auto t1 = Clock::now();
        tape().backward(loss);
        gradient_sync.sync(last - first, batch);
        auto t2 = Clock::now();
        clip_grad_norm(model.params(), cfg.optim.clip_norm);
        optimizer.step(learning_rate_at(cfg.optim, step, warmup + steps), step);
        model.params().zero_grad();
        auto t3 = Clock::now();
        if (step <= warmup) continue;
        fwd.push_back(std::chrono::duration<double>(t1 - t0).count());
        bwd.push_back(std::chrono::duration<double>(t2 - t1).count());
        opt.push_back(std::chrono::duration<double>(t3 - t2).count());
        total.push_back(std::chrono::duration<double>(t3 - t0).count());
        comm.push_back(communication_seconds() - comm0);
    }
    SpeedResult r;
    r.variant = cfg.model.attention.variant;
    r.length = length;
    r.batch = batch;
    r.steps = steps;
    r.median_step_s = median(total);
    r.min_step_s = *std::min_element(total.begin(), total.end());
    r.forward_s = median(fwd);
    r.backward_s = median(bwd);
    r.optimizer_s = median(opt);
    r.ranks = world_size();
    r.communication_s = median(comm);
    const double tokens = double(batch) * length * (task->is_pair() ? 2 : 1);
    r.tokens_per_s = r.median_step_s > 0 ? tokens / r.median_step_s : 0;
    r.peak_tensor_bytes = MemoryPool::instance().peak_bytes();
    r.peak_rss_bytes = peak_rss_bytes();
    r.params = model.params().count();
    return r;
}

BaselineRatios ratios_to(const SpeedResult& r, const SpeedResult& baseline) {
    return {baseline.median_step_s / r.median_step_s,
            double(r.peak_tensor_bytes) / double(baseline.peak_tensor_bytes),
            double(r.peak_rss_bytes) / double(baseline.peak_rss_bytes)};
}

const SpeedResult* find_measurement(const std::vector<SpeedResult>& results,
                                    const std::string& variant, int length) {
    const SpeedResult* found = nullptr;
    for (const auto& x : results)
        if (x.length == length && x.variant == variant) found = &x;
    return found;
}

void to_json(nlohmann::json& j, const SpeedResult& r) {
    j = {{"variant", r.variant},
         {"length", r.length},
         {"batch", r.batch},
         {"steps", r.steps},
         {"median_step_s", r.median_step_s},
         {"min_step_s", r.min_step_s},
         {"forward_s", r.forward_s},
         {"backward_s", r.backward_s},
         {"optimizer_s", r.optimizer_s},
         {"steps_per_s", r.steps_per_s()},
         {"tokens_per_s", r.tokens_per_s},
         {"peak_tensor_bytes", r.peak_tensor_bytes},
         {"peak_rss_bytes", r.peak_rss_bytes},
         {"params", r.params}};
    if (r.ranks > 1) {  // data parallel: step times include the gradient allreduce
        j["ranks"] = r.ranks;
        j["communication_s"] = r.communication_s;
    }
    if (r.vs_baseline) {
        j["speedup_vs_baseline"] = r.vs_baseline->speedup;
        j["memory_ratio_vs_baseline"] = r.vs_baseline->memory_ratio;
        j["rss_ratio_vs_baseline"] = r.vs_baseline->rss_ratio;
    }
}

void from_json(const nlohmann::json& j, SpeedResult& r) {
    const SpeedResult none;
    r.variant = j.at("variant").get<std::string>();
    r.length = j.at("length").get<int>();
    r.batch = j.value("batch", none.batch);
    r.steps = j.value("steps", none.steps);
    r.median_step_s = j.at("median_step_s").get<double>();
    r.min_step_s = j.value("min_step_s", none.min_step_s);
    r.forward_s = j.value("forward_s", none.forward_s);
    r.backward_s = j.value("backward_s", none.backward_s);
    r.optimizer_s = j.value("optimizer_s", none.optimizer_s);
    r.tokens_per_s = j.value("tokens_per_s", none.tokens_per_s);
    r.peak_tensor_bytes = j.at("peak_tensor_bytes").get<size_t>();
    r.peak_rss_bytes = j.value("peak_rss_bytes", none.peak_rss_bytes);
    r.params = j.value("params", none.params);
    r.ranks = j.value("ranks", none.ranks);
    r.communication_s = j.value("communication_s", none.communication_s);
    r.vs_baseline.reset();
    if (j.contains("speedup_vs_baseline"))
        r.vs_baseline = BaselineRatios{j.at("speedup_vs_baseline").get<double>(),
                                       j.value("memory_ratio_vs_baseline", 0.0),
                                       j.value("rss_ratio_vs_baseline", 0.0)};
}

}  // namespace xb
