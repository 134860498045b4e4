// The task interface: a task generates its splits from a seed or loads them from the real
// dataset's file format, and writes generated data back in that format (`xformer-bench data`).
// Token id 0 is always padding; real tokens are 1..vocab_size-1.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/task_config.h"

namespace xb {

struct Example {
    std::vector<int32_t> tokens;   // ids in [1, vocab_size), already truncated to max_len
    std::vector<int32_t> tokens2;  // second document of a pair task (retrieval); else empty
    int32_t label = 0;             // in [0, num_classes)
};

struct Dataset {
    std::vector<Example> train, val, test;
};

class Task {
  public:
    virtual ~Task() = default;
    virtual int num_classes() const = 0;
    virtual int vocab_size() const = 0;  // including padding id 0
    virtual bool is_pair() const { return false; }
    // Deterministic from seed: same seed and config, same examples in the same order.
    virtual Dataset generate(const TaskConfig& cfg, uint64_t seed) const = 0;
    // Reads the real dataset format under cfg.data_dir; throws DataError / IoError.
    virtual Dataset load(const TaskConfig& cfg) const = 0;
    // Writes the dataset in the real format under dir (created if missing).
    virtual void write(const Dataset& data, const std::string& dir) const = 0;
    // A human-readable rendering of one example (for `data --preview`).
    virtual std::string preview(const Example& ex) const = 0;
};

// A task's own defaults (its LRA sizes): a config that leaves task.max_len or a split size out
// gets these, so every task runs and generates with no config file. Options have their defaults
// in the task itself (read when it is made).
struct TaskDefaults {
    int max_len, n_train, n_val, n_test;
};

struct TaskEntry {
    const char* name;
    const char* description;
    TaskDefaults defaults;
    // Builds the task from its options object (path "task.options"); throws ConfigError.
    std::unique_ptr<Task> (*make)(const TaskConfig& cfg);
};

const std::vector<TaskEntry>& task_registry();
// Throws ConfigError naming "task.name" and the known tasks.
std::unique_ptr<Task> make_task(const TaskConfig& cfg);
// The registry entry of a task by name, or nullptr.
const TaskEntry* find_task(const std::string& name);
// Loads from cfg.data_dir when set, else generates from seed. Throws DataError on an empty split.
Dataset load_or_generate(const Task& task, const TaskConfig& cfg, uint64_t seed);

}  // namespace xb
