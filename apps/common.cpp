// Helpers shared by the subcommands.
#include <omp.h>
#include <unistd.h>

#include "commands.h"
#include "core/errors.h"
#include "model/memory_estimate.h"
#include "setup/run_setup.h"
#include "tasks/task.h"

namespace xb::app {

void set_threads(int threads) {
    if (threads > 0) omp_set_num_threads(threads);
}

bool stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

std::vector<std::string> split_list(const std::string& text, const std::string& option) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        std::string item = text.substr(start, comma == std::string::npos ? comma : comma - start);
        if (item.empty())
            throw ConfigError(
                fmt::format("{} '{}': empty item in comma-separated list", option, text));
        out.push_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

std::vector<int> split_int_list(const std::string& text, const std::string& option) {
    std::vector<int> out;
    for (const auto& item : split_list(text, option)) {
        size_t used = 0;
        int v = 0;
        try {
            v = std::stoi(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != item.size() || v <= 0)
            throw ConfigError(
                fmt::format("{} '{}': '{}' is not a positive integer", option, text, item));
        out.push_back(v);
    }
    return out;
}

std::string last_nonempty_line(std::istream& in) {
    std::string line, last;
    while (std::getline(in, line))
        if (!line.empty()) last = line;
    return last;
}

CLI::Validator non_negative_integer() {
    return CLI::Validator(
        [](std::string& text) {
            const bool digits = !text.empty() && text.size() <= 20 &&
                                text.find_first_not_of("0123456789") == std::string::npos;
            return digits ? std::string() : "expected a non-negative integer, got '" + text + "'";
        },
        "UINT");
}

namespace {
std::string g_last_estimate;
}  // namespace

void add_max_memory_option(CLI::App* sub, std::string* max_memory) {
    sub->add_option("--max-memory", *max_memory,
                    "Refuse to start when the estimated peak tensor memory exceeds SIZE (bytes, "
                    "or with k, M, G, T: 2G, 500M); default: the available memory");
}

void check_memory_estimate(const RunSetup& setup, int64_t batch, int64_t length, bool keep_best,
                           const std::string& max_memory, const std::string& batch_key,
                           const std::string& length_key) {
    const size_t limit =
        max_memory.empty() ? available_memory_bytes() : parse_byte_size(max_memory, "--max-memory");
    const RunConfig& cfg = setup.config;
    const auto task = make_task(cfg.task);
    TrainingShape shape;
    shape.vocab = task->vocab_size();
    shape.classes = task->num_classes();
    shape.pair = task->is_pair();
    shape.batch = batch;
    shape.length = length;
    shape.threads = omp_get_max_threads();
    shape.keep_best = keep_best;
    const MemoryEstimate estimate = estimate_training_memory(cfg, *setup.variant, shape);
    g_last_estimate = describe_estimate(cfg, shape, estimate, batch_key, length_key);
    if (limit == 0 || estimate.total() <= limit) return;  // 0: /proc/meminfo unreadable
    throw ConfigError(fmt::format(
        "{} exceeds --max-memory {}{}; lower one of them or raise the limit", g_last_estimate,
        format_bytes(limit), max_memory.empty() ? " (the available memory)" : ""));
}

const std::string& last_memory_estimate() { return g_last_estimate; }

}  // namespace xb::app
