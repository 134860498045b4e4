// Speed measurement; see speed.h.
#include "train/speed.h"

#include <algorithm>
#include <chrono>

#include "core/memory_pool.h"
#include "core/rng.h"
#include "model/classifier.h"
#include "ops/ops.h"
#include "optim/adamw.h"
#include "optim/schedule.h"
#include "train/trainer.h"

namespace xb {

static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n == 0 ? 0.0 : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

static SequenceBatch random_sequences(int batch, int length, int vocab, uint64_t seed) {
    SequenceBatch s;
    s.B = batch;
    s.T = length;
    Rng rng(seed, 77);
    for (int64_t i = 0; i < s.B * s.T; ++i) s.ids.push_back(int32_t(rng.uniform_int(1, vocab - 1)));
    s.lengths.assign(size_t(batch), length);
    return s;
}

SpeedResult measure_speed(const RunConfig& cfg, int length, int batch, int steps, int warmup) {
    using Clock = std::chrono::steady_clock;
    auto task = make_task(cfg.task);
    Classifier model(cfg.model, task->vocab_size(), task->num_classes(), length, task->is_pair(),
                     cfg.seed);
    AdamW optimizer(model.params(), cfg.optim);
    Batch b;
    b.first = random_sequences(batch, length, task->vocab_size(), cfg.seed);
    if (task->is_pair())
        b.second = random_sequences(batch, length, task->vocab_size(), cfg.seed + 1);
    for (int i = 0; i < batch; ++i) b.labels.push_back(i % task->num_classes());

    std::vector<double> total, fwd, bwd, opt;
    for (int step = 1; step <= warmup + steps; ++step) {
        auto t0 = Clock::now();
        Var loss = cross_entropy(model.forward(b, true, step), b.labels);
        auto t1 = Clock::now();
        tape().backward(loss);
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
    const double tokens = double(batch) * length * (task->is_pair() ? 2 : 1);
    r.tokens_per_s = r.median_step_s > 0 ? tokens / r.median_step_s : 0;
    r.peak_tensor_bytes = MemoryPool::instance().peak_bytes();
    r.peak_rss_bytes = peak_rss_bytes();
    r.params = model.params().count();
    return r;
}

nlohmann::json to_json(const SpeedResult& r) {
    return {{"variant", r.variant},
            {"length", r.length},
            {"batch", r.batch},
            {"steps", r.steps},
            {"median_step_s", r.median_step_s},
            {"min_step_s", r.min_step_s},
            {"forward_s", r.forward_s},
            {"backward_s", r.backward_s},
            {"optimizer_s", r.optimizer_s},
            {"steps_per_s", r.median_step_s > 0 ? 1.0 / r.median_step_s : 0.0},
            {"tokens_per_s", r.tokens_per_s},
            {"peak_tensor_bytes", r.peak_tensor_bytes},
            {"peak_rss_bytes", r.peak_rss_bytes},
            {"params", r.params}};
}

SpeedResult speed_result_from_json(const nlohmann::json& j) {
    SpeedResult r;
    r.variant = j.at("variant").get<std::string>();
    r.length = j.at("length").get<int>();
    r.batch = j.at("batch").get<int>();
    r.steps = j.at("steps").get<int>();
    r.median_step_s = j.at("median_step_s").get<double>();
    r.min_step_s = j.at("min_step_s").get<double>();
    r.forward_s = j.at("forward_s").get<double>();
    r.backward_s = j.at("backward_s").get<double>();
    r.optimizer_s = j.at("optimizer_s").get<double>();
    r.tokens_per_s = j.at("tokens_per_s").get<double>();
    r.peak_tensor_bytes = j.at("peak_tensor_bytes").get<size_t>();
    r.peak_rss_bytes = j.at("peak_rss_bytes").get<size_t>();
    r.params = j.at("params").get<int64_t>();
    return r;
}

}  // namespace xb
