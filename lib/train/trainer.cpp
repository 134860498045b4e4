// Train / evaluate loop; see trainer.h.
#include "train/trainer.h"

#include <sys/resource.h>

#include <chrono>
#include <cmath>

#include "core/distributed.h"
#include "core/errors.h"
#include "core/memory_pool.h"
#include "model/classifier.h"
#include "ops/ops.h"
#include "optim/adamw.h"
#include "optim/schedule.h"
#include "train/batching.h"
#include "train/data_parallel.h"

namespace xb {

std::atomic<bool> g_stop_requested{false};

size_t peak_rss_bytes() {
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    return size_t(ru.ru_maxrss) * 1024;  // Linux reports kilobytes
}

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

int64_t batch_tokens(const Batch& b) {
    int64_t n = 0;
    for (int32_t l : b.first.lengths) n += l;
    for (int32_t l : b.second.lengths) n += l;
    return n;
}

// Accuracy of the model on a split (first max_batches batches; 0 = all). Under MPI each rank
// evaluates its fixed share of those examples and the counts are summed.
double evaluate(Classifier& model, const std::vector<Example>& split, int batch_size,
                int max_batches, bool pair, int64_t* tokens) {
    NoGradGuard no_grad;
    std::vector<int64_t> order(split.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = int64_t(i);
    int64_t n = int64_t(split.size());
    if (max_batches > 0) n = std::min<int64_t>(n, int64_t(max_batches) * batch_size);
    const auto [first, last] = rank_share(n, world_rank(), world_size());
    int64_t correct = 0, local_tokens = 0;
    for (int64_t begin = first; begin < last; begin += batch_size) {
        Batch batch = make_batch(split, order, begin, std::min(last, begin + batch_size), pair);
        local_tokens += batch_tokens(batch);
        std::vector<int32_t> pred = argmax_rows(model.forward(batch, false, -1)->value);
        for (size_t i = 0; i < pred.size(); ++i) correct += pred[i] == batch.labels[i];
    }
    std::vector<double> counts = {double(correct), double(local_tokens)};
    sum_over_ranks(counts);  // exact: counts stay far below 2^53
    *tokens += int64_t(counts[1]);
    return n ? counts[0] / double(n) : 0.0;
}

std::vector<Tensor> snapshot(const ParameterStore& params) {
    std::vector<Tensor> copy;
    for (const auto& p : params.all()) copy.push_back(p.var->value.clone());
    return copy;
}

void restore(ParameterStore& params, const std::vector<Tensor>& copy) {
    for (size_t i = 0; i < copy.size(); ++i) params.all()[i].var->value.copy_from(copy[i]);
}

}  // namespace

RunResult train_and_evaluate(const RunConfig& cfg, const Task& task, const Dataset& data,
                             const ProgressFn& progress) {
    const auto t_start = Clock::now();
    RunResult r;
    const bool pair = task.is_pair();
    Classifier model(cfg.model, task.vocab_size(), task.num_classes(), cfg.task.max_len, pair,
                     cfg.seed);
    AdamW optimizer(model.params(), cfg.optim);
    r.params = model.params().count();
    r.param_bytes = size_t(r.params) * sizeof(float);
    r.optimizer_bytes = optimizer.state_bytes();

    const TrainConfig& tc = cfg.train;
    const int64_t n_train = int64_t(data.train.size());
    const int64_t bs = std::min<int64_t>(tc.batch_size, n_train);
    // Data parallel: this rank's fixed rows of every global batch (all of it in one process).
    const int ranks = world_size();
    if (bs < ranks)
        throw ConfigError(fmt::format(
            "train.batch_size={} (limited by {} training examples) must be at least the MPI "
            "rank count {}",
            tc.batch_size, n_train, ranks));
    const auto [share_begin, share_end] = rank_share(bs, world_rank(), ranks);
    GradientSync gradient_sync(model.params());
    const double comm_at_start = communication_seconds();
    std::vector<int64_t> order;
    int64_t epoch = -1, cursor = n_train;
    double loss_sum = 0;
    int64_t loss_count = 0;
    std::vector<Tensor> best_weights;
    double last_val = -1;

    for (int64_t step = 1; step <= tc.steps; ++step) {
        if (cursor + bs > n_train) {  // new epoch (drop the last partial batch)
            order = epoch_order(n_train, cfg.seed, ++epoch);
            cursor = 0;
        }
        Batch batch = make_batch(data.train, order, cursor + share_begin, cursor + share_end, pair);
        cursor += bs;
        const auto t0 = Clock::now();
        Var loss = cross_entropy(model.forward(batch, true, step), batch.labels);
        const auto t1 = Clock::now();
        tape().backward(loss);
        gradient_sync.sync(share_end - share_begin, bs);  // part of the backward phase
        const auto t2 = Clock::now();
        clip_grad_norm(model.params(), cfg.optim.clip_norm);
        optimizer.step(learning_rate_at(cfg.optim, step, tc.steps), step);
        model.params().zero_grad();
        const auto t3 = Clock::now();
        r.forward_s += std::chrono::duration<double>(t1 - t0).count();
        r.backward_s += std::chrono::duration<double>(t2 - t1).count();
        r.optimizer_s += std::chrono::duration<double>(t3 - t2).count();
        r.steps_done = step;

        double l = loss->value.data()[0];
        int64_t tokens = batch_tokens(batch);
        bool stop = g_stop_requested.load();
        if (ranks > 1) {  // the global batch's mean loss and tokens; stop when any rank must
            std::vector<double> v = {l * double(share_end - share_begin) / double(bs),
                                     double(tokens), stop ? 1.0 : 0.0};
            sum_over_ranks(v);
            l = v[0];
            tokens = int64_t(v[1]);
            stop = v[2] > 0;
        }
        r.train_tokens += tokens;
        if (!std::isfinite(l)) {
            r.status = "diverged";
            tape().clear();
            break;
        }
        loss_sum += l;
        ++loss_count;
        if (step % tc.eval_every == 0 || step == tc.steps || stop) {
            const auto te = Clock::now();
            double acc =
                evaluate(model, data.val, tc.batch_size, tc.eval_batches, pair, &r.eval_tokens);
            r.eval_s += seconds_since(te);
            r.history.push_back({step, loss_sum / double(loss_count), acc, seconds_since(t_start)});
            r.final_train_loss = loss_sum / double(loss_count);
            loss_sum = 0;
            loss_count = 0;
            last_val = acc;
            if (!r.best_val_accuracy || acc > *r.best_val_accuracy) {
                r.best_val_accuracy = acc;
                r.best_val_step = step;
                best_weights = snapshot(model.params());
            }
        }
        if (progress) {
            double busy = r.forward_s + r.backward_s + r.optimizer_s;
            progress(step, tc.steps, l, last_val, busy > 0 ? double(r.train_tokens) / busy : 0.0);
        }
        if (stop) {
            r.status = "interrupted";
            break;
        }
    }
    r.train_s = r.forward_s + r.backward_s + r.optimizer_s;

    // Test accuracy of the final weights (unless they diverged), then of the best-val weights.
    const auto te = Clock::now();
    if (r.status != "diverged")
        r.final_test_accuracy = evaluate(model, data.test, tc.batch_size, 0, pair, &r.eval_tokens);
    if (!best_weights.empty()) {
        restore(model.params(), best_weights);
        r.test_accuracy = evaluate(model, data.test, tc.batch_size, 0, pair, &r.eval_tokens);
    }
    r.eval_s += seconds_since(te);
    r.total_s = seconds_since(t_start);
    if (ranks > 1) r.communication_s = communication_seconds() - comm_at_start;
    r.peak_tensor_bytes = MemoryPool::instance().peak_bytes();
    r.peak_rss_bytes = peak_rss_bytes();
    return r;
}

}  // namespace xb
