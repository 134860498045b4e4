// Strict options reader; see option_reader.h.
#include "config/option_reader.h"

#include <cmath>

namespace xb {

OptionReader::OptionReader(const nlohmann::json& options, std::string path)
    : options_(options.is_null() ? nlohmann::json::object() : options), path_(std::move(path)) {
    if (!options_.is_object())
        throw ConfigError(
            fmt::format("{}: expected a JSON object, got {}", path_, options_.dump()));
}

const nlohmann::json* OptionReader::find(const std::string& key) {
    known_.push_back(key);
    auto it = options_.find(key);
    return it == options_.end() ? nullptr : &*it;
}

int OptionReader::get_int(const std::string& key, int def) {
    const nlohmann::json* v = find(key);
    if (!v) return def;
    if (v->is_number_integer()) return v->get<int>();
    if (v->is_number_float()) {
        double d = v->get<double>();
        if (std::floor(d) == d && std::fabs(d) < 2e9) return int(d);
    }
    throw ConfigError(fmt::format("{}: expected an integer, got {}", key_path(key), v->dump()));
}

double OptionReader::get_double(const std::string& key, double def) {
    const nlohmann::json* v = find(key);
    if (!v) return def;
    if (!v->is_number())
        throw ConfigError(fmt::format("{}: expected a number, got {}", key_path(key), v->dump()));
    return v->get<double>();
}

bool OptionReader::get_bool(const std::string& key, bool def) {
    const nlohmann::json* v = find(key);
    if (!v) return def;
    if (!v->is_boolean())
        throw ConfigError(
            fmt::format("{}: expected true or false, got {}", key_path(key), v->dump()));
    return v->get<bool>();
}

std::string OptionReader::get_string(const std::string& key, const std::string& def) {
    const nlohmann::json* v = find(key);
    if (!v) return def;
    if (!v->is_string())
        throw ConfigError(fmt::format("{}: expected a string, got {}", key_path(key), v->dump()));
    return v->get<std::string>();
}

std::string OptionReader::get_choice(const std::string& key, const std::string& def,
                                     const std::vector<std::string>& choices) {
    std::string value = get_string(key, def);
    for (const auto& c : choices)
        if (c == value) return value;
    throw ConfigError(fmt::format("{}: unknown value '{}' (valid: {})", key_path(key), value,
                                  join_names(choices)));
}

std::vector<int> OptionReader::get_int_list(const std::string& key, const std::vector<int>& def) {
    const nlohmann::json* v = find(key);
    if (!v) return def;
    std::vector<int> out;
    if (v->is_array()) {
        for (const auto& e : *v) {
            if (!e.is_number_integer())
                throw ConfigError(fmt::format("{}: expected a list of integers, got {}",
                                              key_path(key), v->dump()));
            out.push_back(e.get<int>());
        }
        return out;
    }
    throw ConfigError(
        fmt::format("{}: expected a list of integers, got {}", key_path(key), v->dump()));
}

std::vector<std::string> OptionReader::get_string_list(const std::string& key,
                                                       const std::vector<std::string>& def) {
    const nlohmann::json* v = find(key);
    if (!v) return def;
    std::vector<std::string> out;
    bool ok = v->is_array();
    for (size_t i = 0; ok && i < v->size(); ++i) {
        ok = (*v)[i].is_string();
        if (ok) out.push_back((*v)[i].get<std::string>());
    }
    if (!ok)
        throw ConfigError(
            fmt::format("{}: expected a list of strings, got {}", key_path(key), v->dump()));
    return out;
}

void OptionReader::finish() const {
    for (auto it = options_.begin(); it != options_.end(); ++it) {
        bool found = false;
        for (const auto& k : known_) found = found || k == it.key();
        if (!found)
            throw ConfigError(fmt::format("{}: unknown key (valid: {})", key_path(it.key()),
                                          known_.empty() ? "none" : join_names(known_)));
    }
}

int OptionReader::get_int_at_least(const std::string& key, int def, int min_value) {
    const int v = get_int(key, def);
    if (v < min_value)
        throw ConfigError(fmt::format(
            "{}={}: must be {}", key_path(key), v,
            min_value == 1 ? std::string("positive") : fmt::format("at least {}", min_value)));
    return v;
}

}  // namespace xb
