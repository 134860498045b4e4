// The run configuration: plain structs whose defaults are the base config. JSON files and
// `--set key.path=value` overrides are applied on top; unknown keys and wrong types are
// ConfigErrors naming the full key path; validate() checks field and cross-field rules. Plain
// data: checking the variant and task names and options against their registries, and the sizes
// of the named task that a config leaves out, are setup/run_setup.h's.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "config/task_config.h"

namespace xb {

struct AttentionConfig {
    std::string variant = "full";  // a name from `xformer-bench list variants`
    float dropout = 0.0f;          // dropout on attention probabilities (variants that have them)
    nlohmann::json options = nlohmann::json::object();  // read strictly by the variant
};

struct ModelConfig {
    int layers = 2;
    int dim = 128;                         // C
    int heads = 4;                         // H (must divide dim)
    int ffn_dim = 256;                     // F
    int classifier_dim = 0;                // hidden width of the classifier MLP; 0 = ffn_dim
    float dropout = 0.1f;                  // residual and FFN dropout
    std::string pooling = "mean";          // mean | cls
    std::string positions = "sinusoidal";  // sinusoidal | learned | none
    // Token embeddings times 1 ("none") or sqrt(dim) ("sqrt_dim", as in Vaswani et al.); the
    // table is initialised at std 1/sqrt(dim) either way (docs/configuration.md).
    std::string embed_scale = "none";
    AttentionConfig attention;
};

// Optimizer overrides for one parameter group. A parameter joins a group where it is created
// (the s4d mixer puts its Λ, Δ and B into "ssm"); -1 keeps the global setting.
struct OptimGroupConfig {
    double lr = -1;            // the group's peak lr; it follows the same warmup and schedule
    double weight_decay = -1;  // decay of every parameter in the group (0 = none)
};

// One entry per group name, so unknown group names are errors like any unknown key.
struct OptimGroups {
    OptimGroupConfig ssm;  // S4D state-space parameters; S4 trains them with lr 1e-3, decay 0
};

struct OptimConfig {
    double lr = 1e-3;           // peak learning rate
    double weight_decay = 0.0;  // decoupled (AdamW)
    bool decay_all = false;     // also decay biases, norms and embeddings
    double beta1 = 0.9;
    double beta2 = 0.98;
    double eps = 1e-9;
    std::string schedule = "rsqrt";  // constant | rsqrt | cosine (all with linear warmup)
    int warmup_steps = 1000;
    double min_lr_ratio = 0.0;  // cosine floor as a fraction of lr
    double clip_norm = 1.0;     // global gradient-norm clip; 0 = off
    OptimGroups groups;         // per-group lr and weight-decay overrides
};

// The overrides of a parameter group by name (nullptr for "", the default group).
const OptimGroupConfig* find_optim_group(const OptimConfig& cfg, const std::string& group);

struct TrainConfig {
    int batch_size = 32;
    int steps = 5000;
    int eval_every = 50;   // validate every this many steps (and at the end)
    int eval_batches = 0;  // 0 = the whole validation split
    int threads = 0;       // 0 = all cores
    // `run` writes a checkpoint every this many steps (and when stopped, and at the end);
    // 0 = only when stopped and at the end. Does not change results.
    int checkpoint_every = 100;
};

struct RunConfig {
    uint64_t seed = 1;
    TaskConfig task;
    ModelConfig model;
    OptimConfig optim;
    TrainConfig train;
};

nlohmann::json to_json(const RunConfig& cfg);
// Strict: every key must exist in the defaults with a compatible type (free-form `options`
// objects excepted, which their owners read strictly).
RunConfig config_from_json(const nlohmann::json& j);
// JSON text to a value; a syntax error is a ConfigError "<where>:line:column: invalid JSON"
// (nesting depth and number range limited as in core/json_text.h).
nlohmann::json parse_json_located(const std::string& text, const std::string& where);
// Reads a JSON file (IoError if missing, ConfigError with file:line:column on a syntax error).
nlohmann::json read_json_file(const std::string& path);
// Applies "a.b.c=value" to j; value is parsed as JSON when it parses, else taken as a string.
void apply_override(nlohmann::json& j, const std::string& assignment);
// Config text + overrides -> the config's JSON (a JSON object); `where` names the text in
// messages.
nlohmann::json config_json_from_text(const std::string& text, const std::string& where,
                                     const std::vector<std::string>& overrides);
// Field and cross-field rules; throws ConfigError naming keys and values.
void validate(const RunConfig& cfg);

}  // namespace xb
