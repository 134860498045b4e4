// Typed user-facing errors. Thrown for bad configs, bad data files and I/O failures; caught
// once in main, printed as one line ("error: ...") and turned into exit code 2.
#pragma once
#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace xb {

struct UserError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
// A config key or CLI value is wrong. The message names the key path and the valid choices.
struct ConfigError : UserError {
    using UserError::UserError;
};
// A data file is malformed. The message names file:line (or file and record).
struct DataError : UserError {
    using UserError::UserError;
};
// A file or directory cannot be read or written.
struct IoError : UserError {
    using UserError::UserError;
};

// "a, b, c" for error messages listing valid choices.
inline std::string join_names(const std::vector<std::string>& names, const char* sep = ", ") {
    std::string out;
    for (size_t i = 0; i < names.size(); ++i) {
        if (i) out += sep;
        out += names[i];
    }
    return out;
}

}  // namespace xb
