// Strict reading of a free-form JSON options object (variant options, task options): each
// known key is read with its default, and finish() rejects any key that was not read, naming
// the full key path and the valid keys. Wrong types name the key and the expected type.
#pragma once
#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

#include "core/errors.h"

namespace xb {

class OptionReader {
  public:
    // path: where the object lives in the config, e.g. "model.attention.options".
    OptionReader(const nlohmann::json& options, std::string path);

    int get_int(const std::string& key, int def);
    double get_double(const std::string& key, double def);
    bool get_bool(const std::string& key, bool def);
    std::string get_string(const std::string& key, const std::string& def);
    // A string that must be one of `choices`.
    std::string get_choice(const std::string& key, const std::string& def,
                           const std::vector<std::string>& choices);
    std::vector<int> get_int_list(const std::string& key, const std::vector<int>& def);
    std::vector<std::string> get_string_list(const std::string& key,
                                             const std::vector<std::string>& def);
    // An integer that must be >= min_value: "KEY=V: must be positive" (min_value 1) or "must be
    // at least N".
    int get_int_at_least(const std::string& key, int def, int min_value);

    // Throws ConfigError for the first key that no get_* asked for.
    void finish() const;
    const std::string& path() const { return path_; }
    std::string key_path(const std::string& key) const { return path_ + "." + key; }

  private:
    const nlohmann::json* find(const std::string& key);
    nlohmann::json options_;
    std::string path_;
    std::vector<std::string> known_;
};

}  // namespace xb
