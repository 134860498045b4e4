// Atomic file output: write to a temporary file in the same directory, then rename, so a
// crash or kill never leaves half a report behind.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

namespace xb {

// Creates parent directories; throws IoError naming the path on failure.
void write_json_atomic(const std::string& path, const nlohmann::json& j);
// The same for any text (tables, SVG, HTML).
void write_text_atomic(const std::string& path, const std::string& text);

}  // namespace xb
