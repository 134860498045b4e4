// Subcommands of xformer-bench. Each file cmd_<name>.cpp adds its subcommand to the app, binds
// its options to a struct, and returns the function main calls when that subcommand was given.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <istream>
#include <string>
#include <vector>

namespace xb {
struct RunSetup;
}  // namespace xb

namespace xb::app {

using Runner = std::function<int()>;

Runner setup_run(CLI::App& app);
Runner setup_speed(CLI::App& app);
Runner setup_list(CLI::App& app);
Runner setup_data(CLI::App& app);
Runner setup_sweep(CLI::App& app);
Runner setup_compare(CLI::App& app);
Runner setup_plot(CLI::App& app);
Runner setup_evaluate(CLI::App& app);

// Shared helpers (apps/common.cpp).
void set_threads(int threads);  // 0 = all cores
bool stderr_is_terminal();
// "a,b,c" -> {"a","b","c"}; empty items are ConfigErrors naming the option.
std::vector<std::string> split_list(const std::string& text, const std::string& option);
std::vector<int> split_int_list(const std::string& text, const std::string& option);
// The last line of the stream that is not empty ("" when there is none).
std::string last_nonempty_line(std::istream& in);
// A CLI11 check that the value is written as a non-negative integer (digits only), so unsigned
// options never take "-1" as 2^64 - 1.
CLI::Validator non_negative_integer();

// --max-memory SIZE (the help text and the default: the machine's available memory).
void add_max_memory_option(CLI::App* sub, std::string* max_memory);
// Estimates the peak tensor bytes of training setup's model on its task with `batch`
// sequences of `length` tokens and this process's threads (model/memory_estimate.h), and
// throws ConfigError naming the estimate, the limit and the settings that drive it when it
// exceeds max_memory ("" = MemAvailable). keep_best: run's copy of the best weights. The
// estimate is also kept for the "out of memory" message should an allocation fail anyway.
void check_memory_estimate(const RunSetup& setup, int64_t batch, int64_t length, bool keep_best,
                           const std::string& max_memory, const std::string& batch_key,
                           const std::string& length_key);
// The estimate the last check made ("" before any), for main's "out of memory" message.
const std::string& last_memory_estimate();

}  // namespace xb::app
