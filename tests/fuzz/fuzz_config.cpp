// Fuzzes the config reader: the input up to the first NUL byte is a config file's text, each
// line after it one `--set` override.
#include <sstream>
#include <vector>

#include "fuzz_support.h"
#include "setup/run_setup.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string input = xb::fuzz::as_string(data, size);
    const size_t nul = input.find('\0');
    std::vector<std::string> overrides;
    if (nul != std::string::npos) {
        std::istringstream lines(input.substr(nul + 1));
        for (std::string line; std::getline(lines, line);) overrides.push_back(line);
    }
    xb::fuzz::accept_user_errors(
        [&] { xb::run_setup_from_text(input.substr(0, nul), "fuzz.json", overrides); });
    return 0;
}
