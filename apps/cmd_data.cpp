// `xformer-bench data TASK`: generate a task's splits from a seed and write them in the real
// dataset's file format (--out), or print examples readably (--preview N).
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>

#include "commands.h"
#include "core/errors.h"
#include "core/file_io.h"
#include "setup/run_setup.h"
#include "tasks/task.h"

namespace xb::app {

namespace {

struct DataOptions {
    std::string task;
    std::string config;
    std::vector<std::string> overrides;
    std::optional<uint64_t> seed;
    std::string out;
    int preview = 0;
};

int data_command(const DataOptions& o) {
    std::vector<std::string> overrides = o.overrides;
    overrides.push_back("task.name=\"" + o.task + "\"");
    if (o.seed) overrides.push_back(fmt::format("seed={}", *o.seed));
    RunConfig cfg = load_run_setup(o.config, overrides).config;
    if (o.out.empty() && o.preview == 0)
        throw ConfigError(
            "data: give --out DIR to write the files, or --preview N to print examples");
    // Previewing generated data needs only the first N train examples, which do not depend on
    // the split sizes (generation is in order or index-local), so generate only those.
    if (o.out.empty() && cfg.task.data_dir.empty()) {
        cfg.task.n_train = std::min(cfg.task.n_train, o.preview);
        cfg.task.n_val = cfg.task.n_test = 1;
    }
    if (!o.out.empty()) probe_writable_directory(o.out);  // before a long generation
    auto task = make_task(cfg.task);
    Dataset data = load_or_generate(*task, cfg.task, cfg.seed);
    if (o.preview > 0) {
        for (int i = 0; i < o.preview && i < int(data.train.size()); ++i)
            fmt::print("--- train[{}] label {} ---\n{}\n", i, data.train[i].label,
                       task->preview(data.train[i]));
    }
    if (!o.out.empty()) {
        // A write that fails part-way leaves nothing behind in a folder that it created.
        std::error_code ec;
        const bool existed = std::filesystem::exists(o.out, ec);
        try {
            task->write(data, o.out);
        } catch (...) {
            if (!existed) std::filesystem::remove_all(o.out, ec);
            throw;
        }
        fmt::print("wrote {} train, {} val, {} test examples of '{}' to {}\n", data.train.size(),
                   data.val.size(), data.test.size(), cfg.task.name, o.out);
    }
    return 0;
}

}  // namespace

Runner setup_data(CLI::App& app) {
    auto o = std::make_shared<DataOptions>();
    auto* sub = app.add_subcommand("data", "Generate a task and write it in its real file format");
    sub->add_option("task", o->task, "Task name (see `xformer-bench list tasks`)")->required();
    sub->add_option("--out", o->out, "Directory to write the dataset files into");
    sub->add_option("--preview", o->preview, "Print this many train examples")
        ->check(CLI::Range(0, 1000000));
    sub->add_option("--config", o->config, "Config JSON file (its task section is used)")
        ->check(CLI::ExistingFile);
    sub->add_option("--set", o->overrides, "Override a config key, e.g. task.n_train=1000");
    sub->add_option("--seed", o->seed, "Generation seed (overrides seed)")
        ->check(non_negative_integer());
    return [o] { return data_command(*o); };
}

}  // namespace xb::app
