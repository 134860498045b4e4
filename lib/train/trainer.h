// The trainer: trains a Classifier on a task's train split, validates every eval_every steps,
// keeps a copy of the best-validation weights, and reports test accuracy of BOTH the
// best-validation weights and the final weights (LRA users were bitten by reporting the last
// checkpoint). Forward, backward and optimizer time are measured separately.
#pragma once
#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "setup/run_setup.h"
#include "tasks/task.h"

namespace xb {

struct EvalPoint {
    int64_t step;
    double train_loss;  // mean training loss since the previous evaluation
    double val_accuracy;
    double elapsed_s;
};

struct RunResult {
    std::string status = "completed";  // completed | diverged | interrupted
    int64_t steps_done = 0;
    std::optional<double> best_val_accuracy, test_accuracy, final_test_accuracy, final_train_loss;
    int64_t best_val_step = 0;
    std::vector<EvalPoint> history;
    // time
    double total_s = 0, train_s = 0, eval_s = 0, forward_s = 0, backward_s = 0, optimizer_s = 0;
    double checkpoint_s = 0;  // writing checkpoints (part of total_s only)
    int64_t train_tokens = 0, eval_tokens = 0;
    // Under MPI: seconds in collectives, already included in backward_s and eval_s.
    std::optional<double> communication_s;
    // model and memory
    int64_t params = 0;
    size_t param_bytes = 0, optimizer_bytes = 0, peak_tensor_bytes = 0, peak_rss_bytes = 0;
};

// Progress callback: step, total steps, recent loss, last val accuracy (or -1), train tokens/s.
using ProgressFn = std::function<void(int64_t, int64_t, double, double, double)>;

// Set to true (e.g. by a SIGINT handler) to stop after the current step.
extern std::atomic<bool> g_stop_requested;

struct Checkpoint;  // train/checkpoint.h

// Checkpointing: `save` (when set) receives a checkpoint every train.checkpoint_every steps, when
// a stop was requested and at the end (its tensors are the live ones: write or copy them before
// returning); `resume` (when set) is a checkpoint of this same config to continue from (its
// tensors are taken: the checkpoint keeps only its config and progress). A run resumed from any
// of its checkpoints ends with the metrics and history of the uninterrupted run (times aside),
// for the same thread count and SIMD target.
struct TrainHooks {
    ProgressFn progress;
    std::function<void(const Checkpoint&)> save;
    Checkpoint* resume = nullptr;
};

// setup: the run's config and its resolved variant (setup/run_setup.h).
RunResult train_and_evaluate(const RunSetup& setup, const Task& task, const Dataset& data,
                             const ProgressFn& progress = nullptr);
RunResult train_and_evaluate(const RunSetup& setup, const Task& task, const Dataset& data,
                             const TrainHooks& hooks);

class Classifier;  // model/classifier.h

// Accuracy of a model on a split (its first max_batches batches; 0 = all), evaluated without
// gradients; adds the tokens seen to *tokens.
double evaluate_accuracy(Classifier& model, const std::vector<Example>& split, int batch_size,
                         int max_batches, bool pair, int64_t* tokens);

// Peak resident set size of this process in bytes (getrusage).
size_t peak_rss_bytes();

}  // namespace xb
