// JSON text to nlohmann::json with the limits a hostile file needs: nesting depth is bounded
// (nlohmann's copies and comparisons recurse, so a deep file could exhaust the stack) and a
// number that overflows (1e999) is an error naming where it came from.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

namespace xb {

constexpr int kMaxJsonDepth = 64;

// Throws nlohmann::json::parse_error for a syntax error (its byte offset locates it), and
// ConfigError "<where>: ..." for nesting deeper than kMaxJsonDepth or a number out of range.
nlohmann::json parse_json(const std::string& text, const std::string& where);

}  // namespace xb
