// The HTML report; see html_report.h.
#include "report/html_report.h"

#include <fmt/format.h>

#include <map>
#include <set>

#include "report/plot_data.h"
#include "report/svg_plot.h"
#include "report/table_format.h"
#include "report/tables.h"

namespace xb {

namespace {

const char* kStyle = R"(body{font-family:sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}caption{font-weight:bold;text-align:left;padding:4px}
th,td{border-bottom:1px solid #ccc;padding:4px 10px;text-align:right}
th:first-child{text-align:left}thead th{border-bottom:2px solid #333}
td.best{font-weight:bold;background:#e8f4e8}td.none{color:#999}
p.note{color:#555;font-size:90%;margin:2px 0}pre{background:#f6f6f6;padding:8px;overflow:auto;
font-size:85%}figure{margin:1em 0}.warn{color:#a40})";

// Each environment field with its distinct values and how many result files had each.
std::string environment_html(const ReportSet& set) {
    std::map<std::string, std::map<std::string, int>> fields;
    auto add = [&](const nlohmann::json& env) {
        if (!env.is_object()) return;
        for (auto it = env.begin(); it != env.end(); ++it)
            ++fields[it.key()][it->is_string() ? it->get<std::string>() : it->dump()];
    };
    for (const auto& r : set.runs) add(r.report.environment);
    for (const auto& s : set.speed_files) add(s.report.environment);
    std::string out =
        "<table class=\"environment\">\n<thead><tr><th>field</th><th>value "
        "(files)</th></tr></thead>\n<tbody>\n";
    for (const auto& [key, values] : fields) {
        std::string cell;
        for (const auto& [v, n] : values)
            cell += (cell.empty() ? "" : "<br>") + html_escape(v) + fmt::format(" ({})", n);
        out += "<tr><th>" + html_escape(key) + "</th><td>" + cell + "</td></tr>\n";
    }
    return out + "</tbody>\n</table>\n";
}

std::string configs_html(const ReportSet& set) {
    std::string out;
    for (const auto& [path, r] : set.runs)
        out += fmt::format(
            "<details><summary>{} — {} {} seed {} [{}]</summary><pre>{}</pre></details>\n",
            html_escape(path), html_escape(r.task.name), html_escape(r.row_label()), r.seed,
            html_escape(r.status), html_escape(r.config.dump(2)));
    for (const auto& s : set.speed_files)
        out += fmt::format(
            "<details><summary>speed: baseline {}</summary><pre>{}</pre></details>\n",
            html_escape(s.report.baseline.value_or("?")), html_escape(s.report.config.dump(2)));
    return out.empty() ? "<p>No runs.</p>\n" : out;
}

}  // namespace

std::string html_report(const ReportSet& set, const std::string& baseline) {
    std::string scaling_source;
    std::vector<ScalingSeries> scaling = scaling_data(set, &scaling_source);
    TradeoffData tradeoff = tradeoff_data(set);
    std::string out = fmt::format(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>xformer-bench results</title>\n<style>{}</style>\n</head>\n<body>\n"
        "<h1>xformer-bench results</h1>\n<p>{} run reports, {} speed files.</p>\n",
        kStyle, set.runs.size(), set.speed_files.size());
    for (const auto& w : set.warnings)
        out += "<p class=\"warn\">skipped: " + html_escape(w) + "</p>\n";
    out += "<h2>Accuracy</h2>\n" + table_html(accuracy_table(set));
    out += "<h2>Efficiency</h2>\n" + table_html(efficiency_table(set, baseline));
    out += "<h2>Trade-off</h2>\n<figure>\n" + tradeoff_svg(tradeoff) + "</figure>\n";
    for (const auto& s : tradeoff.skipped)
        out += "<p class=\"note\">not plotted: " + html_escape(s) + "</p>\n";
    out += "<h2>Scaling</h2>\n<figure>\n" + scaling_svg(scaling, scaling_source) + "</figure>\n";
    out += "<h2>Environment</h2>\n" + environment_html(set);
    out += "<h2>Configs</h2>\n" + configs_html(set);
    return out + "</body>\n</html>\n";
}

}  // namespace xb
