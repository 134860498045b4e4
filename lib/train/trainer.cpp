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
#include "train/checkpoint.h"
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

std::vector<Tensor> snapshot(const ParameterStore& params) {
    std::vector<Tensor> copy;
    for (const auto& p : params.all()) copy.push_back(p.var->value.clone());
    return copy;
}

void restore(ParameterStore& params, const std::vector<Tensor>& copy) {
    for (size_t i = 0; i < copy.size(); ++i) params.all()[i].var->value.copy_from(copy[i]);
}

// Puts a checkpoint's tensors and loop state into a freshly built model and optimizer, and
// releases the checkpoint's copies, so the run holds the same tensors as an uninterrupted one.
void restore_checkpoint(Checkpoint& c, ParameterStore& params, const AdamW& optimizer,
                        std::vector<Tensor>& best_weights, TrainProgress& st) {
    check_matches_model(c, params);
    restore(params, c.params);
    for (size_t i = 0; i < c.params.size(); ++i) {
        Tensor m = optimizer.first_moments()[i], v = optimizer.second_moments()[i];
        m.copy_from(c.adam_m[i]);  // shares the optimizer's storage
        v.copy_from(c.adam_v[i]);
    }
    best_weights = std::move(c.best);
    c.params.clear();
    c.adam_m.clear();
    c.adam_v.clear();
    c.best.clear();
    st = c.progress;
}

}  // namespace

// Under MPI each rank evaluates its fixed share of the examples and the counts are summed.
double evaluate_accuracy(Classifier& model, const std::vector<Example>& split, int batch_size,
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

RunResult train_and_evaluate(const RunSetup& setup, const Task& task, const Dataset& data,
                             const ProgressFn& progress) {
    TrainHooks hooks;
    hooks.progress = progress;
    return train_and_evaluate(setup, task, data, hooks);
}

RunResult train_and_evaluate(const RunSetup& setup, const Task& task, const Dataset& data,
                             const TrainHooks& hooks) {
    const auto t_start = Clock::now();
    const RunConfig& cfg = setup.config;
    const bool pair = task.is_pair();
    Classifier model(cfg.model, *setup.variant, task.vocab_size(), task.num_classes(),
                     cfg.task.max_len, pair, cfg.seed);
    AdamW optimizer(model.params(), cfg.optim);

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
    // Everything the loop carries from step to step (what a checkpoint saves).
    TrainProgress st;
    st.cursor = n_train;
    std::vector<Tensor> best_weights;
    if (hooks.resume)
        restore_checkpoint(*hooks.resume, model.params(), optimizer, best_weights, st);
    RunResult& r = st.result;
    const double elapsed_before = st.elapsed_s, comm_before = r.communication_s.value_or(0.0);
    auto elapsed = [&] { return elapsed_before + seconds_since(t_start); };
    auto note_totals = [&] {
        if (ranks > 1) r.communication_s = comm_before + communication_seconds() - comm_at_start;
        r.peak_tensor_bytes = std::max(r.peak_tensor_bytes, MemoryPool::instance().peak_bytes());
        r.peak_rss_bytes = std::max(r.peak_rss_bytes, peak_rss_bytes());
    };
    auto save = [&](const char* status) {
        if (!hooks.save) return;
        const auto t0 = Clock::now();
        note_totals();
        Checkpoint c;
        c.config = to_json(cfg);
        c.progress = st;
        c.progress.status = status;
        c.progress.elapsed_s = elapsed();
        for (const auto& p : model.params().all()) {
            c.names.push_back(p.var->name);
            c.params.push_back(p.var->value);
        }
        c.adam_m = optimizer.first_moments();
        c.adam_v = optimizer.second_moments();
        c.best = best_weights;
        hooks.save(c);
        r.checkpoint_s += seconds_since(t0);
    };
    auto validate_now = [&](int64_t step) {
        const auto te = Clock::now();
        double acc = evaluate_accuracy(model, data.val, tc.batch_size, tc.eval_batches, pair,
                                       &r.eval_tokens);
        r.eval_s += seconds_since(te);
        r.history.push_back({step, st.loss_sum / double(st.loss_count), acc, elapsed()});
        r.final_train_loss = st.loss_sum / double(st.loss_count);
        st.loss_sum = 0;
        st.loss_count = 0;
        st.last_val = acc;
        if (!r.best_val_accuracy || acc > *r.best_val_accuracy) {
            r.best_val_accuracy = acc;
            r.best_val_step = step;
            best_weights = snapshot(model.params());
        }
    };

    // A checkpoint of a finished run has no steps left: only the test evaluations follow.
    const bool finished = st.status == "completed" || st.status == "diverged";
    r.status = finished ? st.status : "completed";
    std::vector<int64_t> order =
        st.epoch >= 0 ? epoch_order(n_train, cfg.seed, st.epoch) : std::vector<int64_t>();
    for (int64_t step = st.step + 1; step <= tc.steps && !finished; ++step) {
        if (st.cursor + bs > n_train) {  // new epoch (drop the last partial batch)
            order = epoch_order(n_train, cfg.seed, ++st.epoch);
            st.cursor = 0;
        }
        Batch batch =
            make_batch(data.train, order, st.cursor + share_begin, st.cursor + share_end, pair);
        st.cursor += bs;
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
        r.steps_done = st.step = step;

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
            save("diverged");
            break;
        }
        st.loss_sum += l;
        ++st.loss_count;
        const bool scheduled_eval = step % tc.eval_every == 0 || step == tc.steps;
        if (scheduled_eval) validate_now(step);
        // Saved before the extra validation of an interrupted step, which an uninterrupted run
        // does not have: resuming from it gives the uninterrupted run's history.
        if (step == tc.steps)
            save("completed");
        else if (stop)
            save("interrupted");
        else if (tc.checkpoint_every > 0 && step % tc.checkpoint_every == 0)
            save("running");
        if (stop && !scheduled_eval) validate_now(step);
        if (hooks.progress) {
            double busy = r.forward_s + r.backward_s + r.optimizer_s;
            hooks.progress(step, tc.steps, l, st.last_val,
                           busy > 0 ? double(r.train_tokens) / busy : 0.0);
        }
        if (stop) {
            r.status = "interrupted";
            break;
        }
    }
    r.steps_done = st.step;
    r.params = model.params().count();
    r.param_bytes = size_t(r.params) * sizeof(float);
    r.optimizer_bytes = optimizer.state_bytes();
    r.train_s = r.forward_s + r.backward_s + r.optimizer_s;

    // Test accuracy of the final weights (unless they diverged), then of the best-val weights.
    const auto te = Clock::now();
    if (r.status != "diverged")
        r.final_test_accuracy =
            evaluate_accuracy(model, data.test, tc.batch_size, 0, pair, &r.eval_tokens);
    if (!best_weights.empty()) {
        restore(model.params(), best_weights);
        r.test_accuracy =
            evaluate_accuracy(model, data.test, tc.batch_size, 0, pair, &r.eval_tokens);
    }
    r.eval_s += seconds_since(te);
    r.total_s = elapsed();
    note_totals();
    return r;
}

}  // namespace xb
