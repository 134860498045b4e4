// Reading run reports and speed files; see report_set.h.
#include "report/report_set.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "attention/mixer.h"
#include "core/errors.h"
#include "core/file_io.h"
#include "core/json_text.h"

namespace xb {

namespace {

namespace fs = std::filesystem;

// A JSON value as plain text: strings without quotes, a missing value as "?".
std::string plain(const nlohmann::json& object, const char* key) {
    if (!object.is_object() || !object.contains(key)) return "?";
    const nlohmann::json& v = object.at(key);
    return v.is_string() ? v.get<std::string>() : v.dump();
}

void add_speed_file(ReportSet& set, const nlohmann::json& j, const std::string& path) {
    LoadedSpeedFile file{path, j.get<SpeedReport>()};
    const nlohmann::json& config = file.report.config;
    const nlohmann::json model =
        config.is_object() ? config.value("model", nlohmann::json()) : nlohmann::json();
    const nlohmann::json& env = file.report.environment;
    for (const auto& x : file.report.records)
        set.speeds.push_back(
            {path,
             fmt::format("{} layers of width {} ({} heads, FFN {}), batch {}, {} threads, {}",
                         plain(model, "layers"), plain(model, "dim"), plain(model, "heads"),
                         plain(model, "ffn_dim"), x.batch, plain(env, "threads"),
                         plain(env, "simd")),
             x});
    set.speed_files.push_back(std::move(file));
}

void read_one(ReportSet& set, const std::string& path) {
    nlohmann::json j;
    try {
        j = parse_json(read_file_bytes(path), path);
    } catch (const std::exception&) {
        j = nlohmann::json();
    }
    if (!j.is_object()) {
        set.warnings.push_back(fmt::format("{}: not JSON (skipped)", path));
        return;
    }
    const std::string schema = j.value("schema", "");
    try {
        if (schema == kRunSchema) {
            set.runs.push_back({path, j.get<RunReport>()});
        } else if (schema == kSpeedSchema) {
            add_speed_file(set, j, path);
        } else if (schema == kSlurmJobSchema) {
            // a Slurm sweep's job record (DIR/slurm/job-<id>.json): bookkeeping, not a result
        } else if (schema == kEvaluationSchema) {
            // `evaluate` re-scores a checkpoint next to its run's report; the run report counts
        } else {
            set.warnings.push_back(fmt::format(
                "{}: not an xformer-bench report (schema '{}'; skipped)", path, schema));
        }
    } catch (const nlohmann::json::exception&) {
        set.warnings.push_back(
            fmt::format("{}: a {} file with missing fields (skipped)", path, schema));
    }
}

}  // namespace

ReportSet load_reports(const std::vector<std::string>& paths) {
    ReportSet set;
    std::set<fs::path> seen;  // a file reached through two given paths counts once
    auto read_once = [&](const std::string& f) {
        if (seen.insert(fs::weakly_canonical(f)).second) read_one(set, f);
    };
    for (const auto& p : paths) {
        if (fs::is_directory(p)) {
            std::vector<std::string> files;
            for (const auto& e : fs::recursive_directory_iterator(p))
                if (e.is_regular_file() && e.path().extension() == ".json")
                    files.push_back(e.path().string());
            std::sort(files.begin(), files.end());
            for (const auto& f : files) read_once(f);
        } else if (fs::is_regular_file(p)) {
            read_once(p);
        } else {
            throw IoError(fmt::format("{}: no such file or directory", p));
        }
    }
    return set;
}

int variant_rank(const std::string& variant) {
    const auto& reg = variant_registry();
    for (size_t i = 0; i < reg.size(); ++i)
        if (variant == reg[i].name) return int(i);
    return int(reg.size());
}

void require_one_speed_setup(const ReportSet& set) {
    for (const auto& s : set.speeds)
        if (s.setup != set.speeds.front().setup)
            throw DataError(fmt::format(
                "compare: the speed files measure two setups, '{}' ({}) and '{}' ({}); compare one "
                "setup at a time (its files or directory)",
                set.speeds.front().setup, set.speeds.front().path, s.setup, s.path));
}

}  // namespace xb
