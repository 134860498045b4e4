// Training checkpoints: everything that continues a run exactly where it stopped (parameters,
// AdamW moments, the data-order cursor, best-val weights, metrics and history so far, the
// resolved config) in one versioned binary file with a CRC-32, written atomically. The format
// and its version policy are in the README ("Checkpoints").
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "autograd/parameters.h"
#include "core/tensor.h"
#include "train/trainer.h"

namespace xb {

inline constexpr uint32_t kCheckpointVersion = 1;

// The training loop's state after a step, besides the tensors. Dropout and data order are
// counter-based random streams keyed by (seed, step) and (seed, epoch), so step, epoch and
// cursor are the whole random state.
struct TrainProgress {
    std::string status = "running";  // running | interrupted | completed | diverged
    int64_t step = 0;                // steps done
    int64_t epoch = -1, cursor = 0;  // order = epoch_order(n_train, seed, epoch); next position
    double loss_sum = 0;             // training loss since the last evaluation
    int64_t loss_count = 0;
    double last_val = -1;  // last validation accuracy (-1 = none yet)
    double elapsed_s = 0;  // trainer wall time so far, over all processes that ran this run
    RunResult result;      // history, best val, times, token counts and memory peaks so far
};

struct Checkpoint {
    nlohmann::json config;  // the resolved config (to_json)
    TrainProgress progress;
    std::vector<std::string> names;  // parameter names, in registry order
    std::vector<Tensor> params, adam_m, adam_v;
    std::vector<Tensor> best;  // best-val weights; empty before the first evaluation
    std::string source;        // file it was read from (for messages)
};

// `<report>.ckpt`: where `run` keeps the checkpoint of a report.
std::string checkpoint_path_for(const std::string& report_path);

std::string encode_checkpoint(const Checkpoint& c);
// DataError "<path>: ..." for a truncated, corrupt or other-version file.
Checkpoint decode_checkpoint(std::string_view bytes, const std::string& path);
void write_checkpoint(const std::string& path, const Checkpoint& c);  // atomic
Checkpoint read_checkpoint(const std::string& path);

// Full key paths ("optim.lr") whose values differ between two resolved configs, sorted;
// keys that cannot change results (train.checkpoint_every) are ignored.
std::vector<std::string> differing_config_keys(const nlohmann::json& a, const nlohmann::json& b);

// DataError naming the file and the first parameter whose name or shape differs from the
// model's (a checkpoint of another model, or of a build that names parameters differently).
void check_matches_model(const Checkpoint& c, const ParameterStore& params);

}  // namespace xb
