// The "task" section of a run config, plain data: the tasks (tasks/task.h) read it, the config
// layer parses it without knowing any task.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

namespace xb {

// Sizes apply when generating; `options` holds the task's own knobs and is read strictly by the
// task (unknown keys are errors).
struct TaskConfig {
    std::string name = "listops";
    std::string data_dir;  // empty: generate from the run seed; else load the real format here
    // Sizes a config leaves out come from the task's TaskDefaults (these are ListOps's);
    // setup/run_setup.h fills them in.
    int max_len = 2000;  // sequences longer than this are truncated
    int n_train = 96000;
    int n_val = 2000;
    int n_test = 2000;
    nlohmann::json options = nlohmann::json::object();
};

}  // namespace xb
