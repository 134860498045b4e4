// The task registry: tasks.def expanded twice (factory declarations, then the table).
#include <fmt/format.h>

#include "core/errors.h"
#include "tasks/task.h"

namespace xb {

#define XB_TASK(id, desc, factory, max_len, n_train, n_val, n_test) \
    std::unique_ptr<Task> factory(const TaskConfig& cfg);
#include "tasks/tasks.def"
#undef XB_TASK

const std::vector<TaskEntry>& task_registry() {
    static const std::vector<TaskEntry> entries = {
#define XB_TASK(id, desc, factory, max_len, n_train, n_val, n_test) \
    {#id, desc, {max_len, n_train, n_val, n_test}, factory},
#include "tasks/tasks.def"
#undef XB_TASK
    };
    return entries;
}

const TaskEntry* find_task(const std::string& name) {
    for (const auto& e : task_registry())
        if (name == e.name) return &e;
    return nullptr;
}

std::unique_ptr<Task> make_task(const TaskConfig& cfg) {
    std::vector<std::string> names;
    for (const auto& e : task_registry()) {
        if (cfg.name == e.name) return e.make(cfg);
        names.push_back(e.name);
    }
    throw ConfigError(
        fmt::format("task.name: unknown task '{}' (valid: {})", cfg.name, join_names(names)));
}

Dataset load_or_generate(const Task& task, const TaskConfig& cfg, uint64_t seed) {
    Dataset data = cfg.data_dir.empty() ? task.generate(cfg, seed) : task.load(cfg);
    const char* where = cfg.data_dir.empty() ? "generated data" : cfg.data_dir.c_str();
    if (data.train.empty()) throw DataError(fmt::format("{}: the train split is empty", where));
    if (data.val.empty()) throw DataError(fmt::format("{}: the val split is empty", where));
    if (data.test.empty()) throw DataError(fmt::format("{}: the test split is empty", where));
    return data;
}

}  // namespace xb
