// Shared by the libFuzzer targets: each target feeds its input to one reader the way the CLI
// does and accepts the documented outcome of bad input, a UserError (exit 2). Anything else
// (another exception, a crash, a sanitizer report, a leak) is a finding.
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>

#include "core/errors.h"

namespace xb::fuzz {

// A per-process scratch folder, emptied for each input.
inline std::filesystem::path fresh_dir() {
    const auto dir =
        std::filesystem::temp_directory_path() / ("xb_fuzz_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

inline std::string write_file(const std::filesystem::path& path, const std::string& bytes) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
    return path.string();
}

inline std::string as_string(const uint8_t* data, size_t size) {
    return std::string(reinterpret_cast<const char*>(data), size);
}

// Bad input may end in a UserError or, for sizes too large for the memory limit (XB_MAX_MEMORY,
// set by scripts/fuzz.sh), in std::bad_alloc from the tracked pool: both exit 2 in the CLI.
template <class F>
void accept_user_errors(F&& f) {
    try {
        f();
    } catch (const UserError&) {
    } catch (const std::bad_alloc&) {
    }
}

}  // namespace xb::fuzz
