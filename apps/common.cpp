// Helpers shared by the subcommands.
#include <omp.h>
#include <unistd.h>

#include "commands.h"
#include "core/errors.h"

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

}  // namespace xb::app
