// Sweep files: a base config per task, a list of variants, optional grids over config keys and a
// list of seeds, expanded into runs with stable, readable IDs such as `listops__full__seed1` or
// `listops__full__model.layers-4__seed1`. The format is documented in docs/comparing.md.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace xb {

struct SweepVariant {
    std::string id;                // row name and ID part; defaults to the variant name
    std::string variant;           // a name from `xformer-bench list variants`
    std::vector<std::string> set;  // --set assignments for this variant only
};

struct SweepSpec {
    std::string path;                                        // the sweep file
    std::vector<std::pair<std::string, std::string>> tasks;  // task name -> base config path
    std::vector<SweepVariant> variants;
    std::vector<std::pair<std::string, std::vector<nlohmann::json>>> grid;  // key path -> values
    std::vector<uint64_t> seeds = {1};
    std::vector<std::string> set;  // --set assignments for every run
};

// Narrowing from the command line: empty lists keep everything.
struct SweepFilter {
    std::vector<std::string> tasks, variants;
    std::vector<uint64_t> seeds;
    std::vector<std::string> set;  // applied to every run, after the sweep's own assignments
};

struct SweepRun {
    std::string id;     // unique, stable: task__variant[__key-value...]__seed<seed>
    std::string label;  // the row in `compare`: variant id [+ grid settings]
    std::string task, variant;
    uint64_t seed = 0;
    std::string config;                  // base config file of the task
    std::vector<std::string> overrides;  // --set assignments, in order of application
};

// Reads a sweep file strictly: unknown keys, wrong types, unknown task or variant names and
// missing base config files are ConfigErrors/IoErrors naming the file and key.
SweepSpec read_sweep(const std::string& path);
// Parses a sweep from JSON text (the key order of `tasks` and `grid` is kept); `path` names the
// file in messages and anchors relative config paths.
SweepSpec parse_sweep(const std::string& text, const std::string& path);
// Applies the filter, checks that the selected tasks and variants exist (ConfigError naming the
// sweep key otherwise), and expands task x variant x grid x seed in that order.
std::vector<SweepRun> expand_sweep(const SweepSpec& spec, const SweepFilter& filter);

// What the report at report_path says about its run: "done" (completed), "diverged", "failed",
// "interrupted", or "missing" (no file, unreadable, or not a run report).
std::string run_state(const std::string& report_path);
// Done and diverged are results: a resumed or resubmitted sweep skips them and runs the rest.
bool run_is_finished(const std::string& state);

}  // namespace xb
