// Sweep files and their expansion into runs; see sweep.h.
#include "sweep/sweep.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "attention/mixer.h"
#include "config/run_config.h"
#include "core/errors.h"
#include "report/schemas.h"
#include "tasks/task.h"

namespace xb {

namespace {

using ordered = nlohmann::ordered_json;

// Letters, digits, '.', '-' and '+' survive in IDs; anything else becomes '_'.
std::string id_text(const std::string& text) {
    std::string out;
    for (char c : text)
        out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+')
                   ? c
                   : '_';
    return out;
}

std::string value_text(const nlohmann::json& v) {
    return v.is_string() ? v.get<std::string>() : v.dump();
}

std::vector<std::string> string_list(const ordered& j, const std::string& where) {
    if (!j.is_array()) throw ConfigError(fmt::format("{}: expected a list of strings", where));
    std::vector<std::string> out;
    for (size_t i = 0; i < j.size(); ++i) {
        if (!j[i].is_string())
            throw ConfigError(
                fmt::format("{}[{}]: expected a string, got {}", where, i, j[i].dump()));
        out.push_back(j[i].get<std::string>());
    }
    return out;
}

SweepVariant parse_variant(const ordered& j, const std::string& where) {
    SweepVariant v;
    if (j.is_string()) {
        v.id = v.variant = j.get<std::string>();
        return v;
    }
    if (!j.is_object())
        throw ConfigError(
            fmt::format("{}: expected a variant name or an object with \"variant\"", where));
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string key = where + "." + it.key();
        if (it.key() == "variant" && it->is_string()) {
            v.variant = it->get<std::string>();
        } else if (it.key() == "id" && it->is_string()) {
            v.id = it->get<std::string>();
        } else if (it.key() == "set") {
            v.set = string_list(*it, key);
        } else if (it.key() == "variant" || it.key() == "id") {
            throw ConfigError(fmt::format("{}: expected a string, got {}", key, it->dump()));
        } else {
            throw ConfigError(fmt::format("{}: unknown key (valid: variant, id, set)", key));
        }
    }
    if (v.variant.empty()) throw ConfigError(fmt::format("{}.variant: missing", where));
    if (v.id.empty()) v.id = v.variant;
    if (id_text(v.id) != v.id)
        throw ConfigError(
            fmt::format("{}.id '{}': use letters, digits, '.', '-' or '+'", where, v.id));
    return v;
}

template <class T>
void require_selected(const std::vector<T>& wanted, const std::vector<T>& have,
                      const std::string& option, const std::string& sweep) {
    for (const auto& w : wanted) {
        if (std::find(have.begin(), have.end(), w) != have.end()) continue;
        std::vector<std::string> names;
        for (const auto& h : have) names.push_back(fmt::format("{}", h));
        throw ConfigError(
            fmt::format("{} {}: not in {} (valid: {})", option, w, sweep, join_names(names)));
    }
}

template <class T>
bool selected(const std::vector<T>& filter, const T& value) {
    return filter.empty() || std::find(filter.begin(), filter.end(), value) != filter.end();
}

}  // namespace

SweepSpec parse_sweep(const std::string& text, const std::string& path) {
    ordered j;
    try {
        j = ordered::parse(text);
    } catch (const ordered::parse_error& e) {
        throw ConfigError(fmt::format("{}: invalid JSON ({})", path, e.what()));
    }
    if (!j.is_object()) throw ConfigError(fmt::format("{}: a sweep must be a JSON object", path));
    SweepSpec s;
    s.path = path;
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(path).parent_path();
    bool has_tasks = false, has_variants = false;
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string key = path + ": " + it.key();
        if (it.key() == "tasks") {
            if (!it->is_object() || it->empty())
                throw ConfigError(
                    fmt::format("{}: expected an object task name -> config file", key));
            for (auto t = it->begin(); t != it->end(); ++t) {
                if (!t->is_string())
                    throw ConfigError(
                        fmt::format("{}.{}: expected a config file path", key, t.key()));
                fs::path p = t->get<std::string>();
                s.tasks.emplace_back(t.key(), p.is_absolute() ? p.string() : (dir / p).string());
            }
            has_tasks = true;
        } else if (it.key() == "variants") {
            if (!it->is_array() || it->empty())
                throw ConfigError(fmt::format("{}: expected a non-empty list", key));
            for (size_t i = 0; i < it->size(); ++i)
                s.variants.push_back(parse_variant((*it)[i], fmt::format("{}[{}]", key, i)));
            has_variants = true;
        } else if (it.key() == "grid") {
            if (!it->is_object()) throw ConfigError(fmt::format("{}: expected an object", key));
            for (auto g = it->begin(); g != it->end(); ++g) {
                if (!g->is_array() || g->empty())
                    throw ConfigError(
                        fmt::format("{}.{}: expected a non-empty list of values", key, g.key()));
                std::vector<nlohmann::json> values;
                for (const auto& v : *g) values.push_back(nlohmann::json::parse(v.dump()));
                s.grid.emplace_back(g.key(), values);
            }
        } else if (it.key() == "seeds") {
            if (!it->is_array() || it->empty())
                throw ConfigError(fmt::format("{}: expected a non-empty list of seeds", key));
            s.seeds.clear();
            for (const auto& v : *it) {
                if (!v.is_number_unsigned())
                    throw ConfigError(
                        fmt::format("{}: {} is not a non-negative integer", key, v.dump()));
                s.seeds.push_back(v.get<uint64_t>());
            }
        } else if (it.key() == "set") {
            s.set = string_list(*it, key);
        } else if (it.key() != "description") {
            throw ConfigError(fmt::format(
                "{}: unknown key (valid: description, tasks, variants, grid, seeds, set)", key));
        }
    }
    if (!has_tasks) throw ConfigError(fmt::format("{}: tasks: missing", path));
    if (!has_variants) throw ConfigError(fmt::format("{}: variants: missing", path));
    std::vector<std::string> ids;
    for (const auto& v : s.variants) {
        if (std::find(ids.begin(), ids.end(), v.id) != ids.end())
            throw ConfigError(
                fmt::format("{}: variants: '{}' appears twice (give one an \"id\")", path, v.id));
        ids.push_back(v.id);
    }
    return s;
}

SweepSpec read_sweep(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw IoError(fmt::format("{}: cannot open file", path));
    std::stringstream ss;
    ss << in.rdbuf();
    read_json_file(path);  // syntax errors with line:column
    return parse_sweep(ss.str(), path);
}

std::vector<SweepRun> expand_sweep(const SweepSpec& s, const SweepFilter& f) {
    std::vector<std::string> task_names, variant_ids;
    for (const auto& t : s.tasks) task_names.push_back(t.first);
    for (const auto& v : s.variants) variant_ids.push_back(v.id);
    require_selected(f.tasks, task_names, "--tasks", s.path);
    require_selected(f.variants, variant_ids, "--variants", s.path);
    require_selected(f.seeds, s.seeds, "--seeds", s.path);

    // Names are checked only for what was selected, so a filtered sweep runs even when some of
    // its variants are not compiled into this binary.
    std::vector<std::string> known_tasks, known_variants;
    for (const auto& e : task_registry()) known_tasks.push_back(e.name);
    for (const auto& e : variant_registry()) known_variants.push_back(e.name);
    for (size_t i = 0; i < s.tasks.size(); ++i) {
        const auto& [name, config] = s.tasks[i];
        if (!selected(f.tasks, name)) continue;
        if (std::find(known_tasks.begin(), known_tasks.end(), name) == known_tasks.end())
            throw ConfigError(fmt::format("{}: tasks.{}: unknown task (valid: {})", s.path, name,
                                          join_names(known_tasks)));
        if (!std::filesystem::is_regular_file(config))
            throw IoError(
                fmt::format("{}: tasks.{}: config file {} not found", s.path, name, config));
    }
    for (size_t i = 0; i < s.variants.size(); ++i) {
        const SweepVariant& v = s.variants[i];
        if (!selected(f.variants, v.id)) continue;
        if (std::find(known_variants.begin(), known_variants.end(), v.variant) ==
            known_variants.end())
            throw ConfigError(fmt::format("{}: variants[{}]: unknown variant '{}' (valid: {})",
                                          s.path, i, v.variant, join_names(known_variants)));
    }

    // Grid cells in row-major order over the keys in file order.
    std::vector<std::vector<size_t>> cells(1);
    for (const auto& g : s.grid) {
        std::vector<std::vector<size_t>> next;
        for (const auto& c : cells)
            for (size_t k = 0; k < g.second.size(); ++k) {
                next.push_back(c);
                next.back().push_back(k);
            }
        cells = next;
    }
    std::vector<SweepRun> runs;
    for (const auto& [task, config] : s.tasks) {
        if (!selected(f.tasks, task)) continue;
        for (const auto& v : s.variants) {
            if (!selected(f.variants, v.id)) continue;
            for (const auto& cell : cells) {
                std::string label = id_text(v.id);
                std::vector<std::string> overrides = {"task.name=\"" + task + "\""};
                overrides.insert(overrides.end(), s.set.begin(), s.set.end());
                for (size_t g = 0; g < s.grid.size(); ++g) {
                    const nlohmann::json& value = s.grid[g].second[cell[g]];
                    overrides.push_back(s.grid[g].first + "=" + value.dump());
                    label += "__" + id_text(s.grid[g].first) + "-" + id_text(value_text(value));
                }
                overrides.insert(overrides.end(), v.set.begin(), v.set.end());
                overrides.insert(overrides.end(), f.set.begin(), f.set.end());
                for (uint64_t seed : s.seeds) {
                    if (!selected(f.seeds, seed)) continue;
                    SweepRun r;
                    r.id = fmt::format("{}__{}__seed{}", id_text(task), label, seed);
                    r.label = label;
                    r.task = task;
                    r.variant = v.variant;
                    r.seed = seed;
                    r.config = config;
                    r.overrides = overrides;
                    runs.push_back(r);
                }
            }
        }
    }
    return runs;
}

std::string run_state(const std::string& report_path) {
    if (!std::filesystem::exists(report_path)) return "missing";
    try {
        nlohmann::json j = read_json_file(report_path);
        const std::string status = j.value("status", "");
        if (j.value("schema", "") != kRunSchema) return "missing";
        if (status == "completed") return "done";
        if (status == "diverged" || status == "failed" || status == "interrupted") return status;
    } catch (const std::exception&) {
    }
    return "missing";
}

bool run_is_finished(const std::string& state) { return state == "done" || state == "diverged"; }

}  // namespace xb
