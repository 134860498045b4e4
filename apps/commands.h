// Subcommands of xformer-bench. Each file cmd_<name>.cpp adds its subcommand to the app, binds
// its options to a struct, and returns the function main calls when that subcommand was given.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <istream>
#include <string>
#include <vector>

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

}  // namespace xb::app
