// Reports as JSON files, written atomically (see core/file_io.h: a crash or kill never leaves
// half a report behind).
#pragma once
#include <nlohmann/json.hpp>

#include <string>

namespace xb {

// Creates parent directories; throws IoError naming the path and the OS reason on failure.
void write_json_atomic(const std::string& path, const nlohmann::json& j);

}  // namespace xb
