// Building the accuracy and efficiency tables; see tables.h.
#include "report/tables.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace xb {

namespace {

const std::vector<std::string> kLraTaskOrder = {"listops", "text",       "retrieval",
                                                "image",   "pathfinder", "pathx"};

TableCell mean_cell(const std::vector<double>& values) {
    TableCell c;
    c.n = int(values.size());
    if (values.empty()) return c;
    double sum = 0;
    for (double v : values) sum += v;
    double mean = sum / double(values.size());
    c.value = mean;
    if (values.size() >= 2) {
        double ss = 0;
        for (double v : values) ss += (v - mean) * (v - mean);
        c.std = std::sqrt(ss / double(values.size() - 1));
    }
    return c;
}

// When a cell has no value, the most telling status of its runs.
std::string missing_status(const std::vector<std::string>& statuses) {
    for (const char* s : {"failed", "diverged", "interrupted"})
        if (std::find(statuses.begin(), statuses.end(), s) != statuses.end()) return s;
    return statuses.empty() ? "missing" : statuses.front();
}

void mark_best(Table& t, bool higher_is_better) {
    for (size_t c = 0; c < t.columns.size(); ++c) {
        std::optional<double> best;
        for (const auto& r : t.rows) {
            const auto& v = r.cells[c].value;
            if (v && (!best || (higher_is_better ? *v > *best : *v < *best))) best = v;
        }
        for (auto& r : t.rows)
            r.cells[c].best = best && r.cells[c].value && *r.cells[c].value == *best;
    }
}

// Row labels ordered by variant registry position, then label.
std::vector<std::string> ordered_labels(const std::map<std::string, std::string>& variant_of) {
    std::vector<std::string> labels;
    for (const auto& kv : variant_of) labels.push_back(kv.first);
    std::stable_sort(labels.begin(), labels.end(), [&](const auto& a, const auto& b) {
        return variant_rank(variant_of.at(a)) < variant_rank(variant_of.at(b));
    });
    return labels;
}

}  // namespace

std::string measured_on(const std::vector<nlohmann::json>& environments) {
    std::map<std::string, int> count;
    for (const auto& env : environments) {
        auto field = [&](const char* key) {
            return env.is_object() && env.contains(key) && env[key].is_string()
                       ? env[key].get<std::string>()
                       : std::string("unknown");
        };
        ++count[fmt::format("{}, SIMD {}", field("cpu"), field("simd"))];
    }
    if (count.size() == 1) return count.begin()->first;
    std::string out;
    for (const auto& [where, n] : count)
        out +=
            fmt::format("{}{} ({} file{})", out.empty() ? "" : "; ", where, n, n == 1 ? "" : "s");
    return out;
}

std::vector<std::string> ordered_tasks(const std::vector<std::string>& tasks) {
    std::set<std::string> unique(tasks.begin(), tasks.end());
    std::vector<std::string> out;
    for (const auto& t : kLraTaskOrder)
        if (unique.erase(t)) out.push_back(t);
    out.insert(out.end(), unique.begin(), unique.end());
    return out;
}

Table accuracy_table(const ReportSet& set) {
    Table t;
    t.kind = "accuracy";
    t.title = "Test accuracy (%)";
    std::map<std::string, std::string> variant_of;
    std::vector<std::string> task_names;
    std::vector<nlohmann::json> environments;
    for (const auto& run : set.runs) environments.push_back(run.report.environment);
    t.measured_on = measured_on(environments);
    for (const auto& run : set.runs) {
        variant_of.emplace(run.report.row_label(), run.report.model.variant);
        task_names.push_back(run.report.task.name);
    }
    std::vector<std::string> tasks = ordered_tasks(task_names);
    for (const auto& task : tasks) t.columns.push_back({task, 2});
    bool multi_seed = false;
    for (const auto& label : ordered_labels(variant_of)) {
        TableRow row{label, {}};
        for (const auto& task : tasks) {
            std::vector<double> values;
            std::vector<std::string> statuses;
            for (const auto& run : set.runs) {
                const RunReport& r = run.report;
                if (r.row_label() != label || r.task.name != task) continue;
                statuses.push_back(r.status);
                const auto& accuracy = r.metrics.test_accuracy;
                if (accuracy && (r.status == "completed" || r.status == "diverged"))
                    values.push_back(100.0 * *accuracy);
            }
            TableCell c = mean_cell(values);
            if (!c.value) c.status = missing_status(statuses);
            multi_seed = multi_seed || c.n > 1;
            row.cells.push_back(c);
        }
        t.rows.push_back(row);
    }
    // Average over the tasks where any row has a value.
    std::vector<size_t> counted;
    for (size_t c = 0; c < tasks.size(); ++c)
        for (const auto& r : t.rows)
            if (r.cells[c].value) {
                counted.push_back(c);
                break;
            }
    t.columns.push_back({"average", 2});
    for (auto& r : t.rows) {
        TableCell avg;
        double sum = 0;
        for (size_t c : counted) {
            if (!r.cells[c].value) {
                avg.status = "missing";
                break;
            }
            sum += *r.cells[c].value;
        }
        if (avg.status.empty() && !counted.empty()) {
            avg.value = sum / double(counted.size());
            avg.n = int(counted.size());
        } else {
            avg.status = "missing";
        }
        r.cells.push_back(avg);
    }
    mark_best(t, true);
    if (multi_seed) t.notes.push_back("Cells are mean ± sample std over seeds.");
    if (counted.size() < tasks.size())
        t.notes.push_back(
            fmt::format("The average covers the {} tasks with any result.", counted.size()));
    return t;
}

Table efficiency_table(const ReportSet& set, const std::string& baseline) {
    Table t;
    t.kind = "efficiency";
    // (label, length) -> steps/s values and peak bytes values
    std::map<std::pair<std::string, int>, std::pair<std::vector<double>, std::vector<double>>> data;
    std::map<std::string, std::string> variant_of;
    if (!set.speeds.empty()) {
        // One measured setup per table: a variant's steps/s means nothing beside another
        // variant's measured with another batch, model, thread count or instruction set.
        require_one_speed_setup(set);
        std::map<std::pair<std::string, int>, const SpeedResult*> newest;
        for (const auto& s : set.speeds) newest[{s.result.variant, s.result.length}] = &s.result;
        for (const auto& [key, s] : newest) {
            data[key] = {{s->steps_per_s()}, {double(s->peak_tensor_bytes)}};
            variant_of.emplace(s->variant, s->variant);
        }
        t.title = "Training speed (steps/s) and peak tensor memory (MiB) by sequence length";
        std::vector<nlohmann::json> environments;
        for (const auto& f : set.speed_files) environments.push_back(f.report.environment);
        t.measured_on = measured_on(environments);
        t.notes.push_back(fmt::format("From `xformer-bench speed` files (random tokens): {}.",
                                      set.speeds.front().setup));
    } else {
        for (const auto& run : set.runs) {
            const RunReport& r = run.report;
            if (r.steps_per_s() <= 0) continue;
            auto& d = data[{r.row_label(), r.task.max_len}];
            d.first.push_back(r.steps_per_s());
            d.second.push_back(double(r.memory.peak_tensor_bytes));
            variant_of.emplace(r.row_label(), r.model.variant);
        }
        t.title = "Training speed (steps/s) and peak tensor memory (MiB) by task length";
        std::vector<nlohmann::json> environments;
        for (const auto& run : set.runs)
            if (run.report.steps_per_s() > 0) environments.push_back(run.report.environment);
        t.measured_on = measured_on(environments);
        t.notes.push_back("From run reports: mean training step time and peak tensor memory.");
    }
    std::set<int> lengths;
    for (const auto& kv : data) lengths.insert(kv.first.second);
    for (int len : lengths) t.columns.push_back({fmt::format("steps/s {}", len), 2});
    for (int len : lengths) t.columns.push_back({fmt::format("MiB {}", len), 1});
    for (const auto& label : ordered_labels(variant_of)) {
        TableRow row{label, {}};
        for (int pass = 0; pass < 2; ++pass)
            for (int len : lengths) {
                auto it = data.find({label, len});
                TableCell c;
                if (it != data.end()) {
                    c = mean_cell(pass == 0 ? it->second.first : it->second.second);
                    if (pass == 1) *c.value /= double(1 << 20);
                    c.std.reset();
                } else {
                    c.status = "missing";
                }
                row.cells.push_back(c);
            }
        t.rows.push_back(row);
    }
    const TableRow* base = nullptr;
    for (const auto& r : t.rows)
        if (r.label == baseline) base = &r;
    if (base) {
        for (auto& r : t.rows)
            for (size_t c = 0; c < r.cells.size(); ++c)
                if (r.cells[c].value && base->cells[c].value && *base->cells[c].value > 0)
                    r.cells[c].ratio = *r.cells[c].value / *base->cells[c].value;
        t.notes.push_back(fmt::format("(×) is the ratio to {} at the same length.", baseline));
    } else {
        t.notes.push_back(
            fmt::format("No ratios: the baseline '{}' is not in the results.", baseline));
    }
    return t;
}

}  // namespace xb
