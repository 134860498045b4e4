// The run report: one JSON document per run (schema "xformer-bench/run/1"). Field reference is
// in docs/configuration.md ("The JSON report").
#pragma once
#include <nlohmann/json.hpp>

#include "config/run_config.h"
#include "report/schemas.h"
#include "tasks/task.h"
#include "train/trainer.h"

namespace xb {

nlohmann::json make_run_report(const RunConfig& cfg, const Task& task, const Dataset& data,
                               const RunResult& result);

}  // namespace xb
