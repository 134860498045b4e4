// A run config checked against the registries; see run_setup.h.
#include "setup/run_setup.h"

#include <algorithm>

#include "autograd/parameters.h"
#include "core/errors.h"
#include "core/file_io.h"
#include "model/classifier.h"
#include "tasks/task.h"

namespace xb {

namespace {

// Task sizes the config leaves out are the task's own (an unknown task fails in
// check_run_setup).
void apply_task_defaults(RunConfig& cfg, const nlohmann::json& j) {
    const TaskEntry* task = find_task(cfg.task.name);
    if (!task) return;
    const nlohmann::json given = j.value("task", nlohmann::json::object());
    const TaskDefaults& d = task->defaults;
    if (!given.contains("max_len")) cfg.task.max_len = d.max_len;
    if (!given.contains("n_train")) cfg.task.n_train = d.n_train;
    if (!given.contains("n_val")) cfg.task.n_val = d.n_val;
    if (!given.contains("n_test")) cfg.task.n_test = d.n_test;
}

// The longest sequence of the throwaway mixer that checks the variant's options.
constexpr int kCheckLength = 64;

// Unknown variant options fail here: the footprint reads them at the real length, then one
// throwaway mixer is built with them at a small width and length, so that checking a very wide
// or long model allocates little (the memory estimate of `run` and `speed` judges the size).
// Should the short length be refused (an option bounded by max_len, such as synthesizer's k),
// the verdict is that of the real length.
void check_variant_options(const RunConfig& c, const VariantEntry& variant) {
    const ModelConfig& m = c.model;
    MixerSpec spec = block_mixer_spec(m, 0, c.task.max_len, c.seed);
    variant.footprint(spec, MixerShape{1, 1, 1});
    spec.dim = m.heads * std::min(m.dim / m.heads, 4);
    spec.max_len = std::min(c.task.max_len, kCheckLength);
    try {
        ParameterStore scratch(0);
        variant.make(spec, scratch);
        return;
    } catch (const ConfigError&) {
        if (spec.max_len == c.task.max_len) throw;
    }
    spec.max_len = c.task.max_len;
    ParameterStore scratch(0);
    variant.make(spec, scratch);
}

}  // namespace

RunSetup check_run_setup(const RunConfig& cfg) {
    validate(cfg);
    make_task(cfg.task);  // unknown task name or bad task options
    RunSetup setup;
    setup.config = cfg;
    setup.variant = &find_variant(cfg.model.attention.variant);
    check_variant_options(cfg, *setup.variant);
    return setup;
}

RunSetup run_setup_from_json(const nlohmann::json& j, const std::string& variant) {
    RunConfig cfg = config_from_json(j);
    apply_task_defaults(cfg, j);
    if (!variant.empty()) cfg.model.attention.variant = variant;
    return check_run_setup(cfg);
}

RunSetup run_setup_from_text(const std::string& text, const std::string& where,
                             const std::vector<std::string>& overrides,
                             const std::string& variant) {
    return run_setup_from_json(config_json_from_text(text, where, overrides), variant);
}

RunSetup load_run_setup(const std::string& path, const std::vector<std::string>& overrides,
                        const std::string& variant) {
    return run_setup_from_text(path.empty() ? "{}" : read_file_bytes(path), path, overrides,
                               variant);
}

}  // namespace xb
