// Figure data; see plot_data.h.
#include "report/plot_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "report/tables.h"

namespace xb {

TradeoffData tradeoff_data(const ReportSet& set) {
    TradeoffData d;
    Table acc = accuracy_table(set);
    std::map<std::string, std::string> variant_of;
    for (const auto& run : set.runs)
        variant_of.emplace(run.report.row_label(), run.report.model.variant);

    require_one_speed_setup(set);
    int length = 0;  // the longest length measured for the most variants
    std::map<int, std::map<std::string, const SpeedResult*>> by_length;
    for (const auto& s : set.speeds) by_length[s.result.length][s.result.variant] = &s.result;
    size_t most = 0;
    for (const auto& [len, recs] : by_length)
        if (recs.size() >= most) {
            most = recs.size();
            length = len;
        }
    d.source = length
                   ? fmt::format("speed and memory from the speed benchmark at length {}", length)
                   : "speed and memory from the run reports (mean over each variant's runs)";
    for (const auto& row : acc.rows) {
        const TableCell& avg = row.cells.back();
        if (!avg.value) {
            d.skipped.push_back(row.label + ": no average accuracy");
            continue;
        }
        TradeoffPoint p{row.label, 0, *avg.value, 0};
        if (length) {
            auto it = by_length[length].find(variant_of[row.label]);
            if (it != by_length[length].end()) {
                p.steps_per_s = it->second->steps_per_s();
                p.peak_bytes = double(it->second->peak_tensor_bytes);
            }
        } else {
            int n = 0;
            for (const auto& run : set.runs)
                if (run.report.row_label() == row.label && run.report.steps_per_s() > 0) {
                    p.steps_per_s += run.report.steps_per_s();
                    p.peak_bytes += double(run.report.memory.peak_tensor_bytes);
                    ++n;
                }
            if (n) p.steps_per_s /= n, p.peak_bytes /= n;
        }
        if (p.steps_per_s <= 0) {
            d.skipped.push_back(row.label + ": no speed measurement");
            continue;
        }
        d.points.push_back(p);
    }
    return d;
}

std::vector<ScalingSeries> scaling_data(const ReportSet& set, std::string* source) {
    // label -> length -> (sum step_s, sum bytes, count)
    std::map<std::string, std::map<int, std::tuple<double, double, int>>> acc;
    std::map<std::string, std::string> variant_of;
    if (!set.speeds.empty()) {
        require_one_speed_setup(set);
        for (const auto& speed : set.speeds) {  // newest file wins
            const SpeedResult& s = speed.result;
            acc[s.variant][s.length] = {s.median_step_s, double(s.peak_tensor_bytes), 1};
            variant_of.emplace(s.variant, s.variant);
        }
        if (source) *source = "from the speed benchmark";
    } else {
        for (const auto& run : set.runs) {
            const RunReport& r = run.report;
            if (r.steps_per_s() <= 0) continue;
            auto& [t, m, n] = acc[r.row_label()][r.task.max_len];
            t += 1.0 / r.steps_per_s();
            m += double(r.memory.peak_tensor_bytes);
            ++n;
            variant_of.emplace(r.row_label(), r.model.variant);
        }
        if (source) *source = "from the run reports (length = task.max_len)";
    }
    std::vector<ScalingSeries> out;
    for (const auto& [label, points] : acc) {
        ScalingSeries s{label, {}};
        for (const auto& [len, v] : points)
            s.points.push_back(
                {len, std::get<0>(v) / std::get<2>(v), std::get<1>(v) / std::get<2>(v)});
        out.push_back(s);
    }
    std::stable_sort(out.begin(), out.end(), [&](const auto& a, const auto& b) {
        return variant_rank(variant_of[a.label]) < variant_rank(variant_of[b.label]);
    });
    return out;
}

}  // namespace xb
