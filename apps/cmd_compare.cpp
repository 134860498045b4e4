// `xformer-bench compare`: reads run reports and speed files and prints the LRA tables
// (accuracy: variants x tasks; efficiency: variants x lengths with ratios to a baseline) as
// Markdown, CSV, LaTeX or JSON, or writes the self-contained HTML report with both tables and
// both figures.
#include <fmt/format.h>

#include <memory>

#include "commands.h"
#include "core/errors.h"
#include "core/file_io.h"
#include "report/html_report.h"
#include "report/report_set.h"
#include "report/table_format.h"
#include "report/tables.h"

namespace xb::app {

namespace {

struct CompareOptions {
    std::vector<std::string> paths;
    std::string format = "md";
    std::string table = "accuracy";
    std::string baseline = "full";
    std::string out;  // empty: stdout
};

// Skipped files are named on stderr; they never stop the comparison.
ReportSet load_with_warnings(const std::vector<std::string>& paths) {
    ReportSet set = load_reports(paths);
    for (const auto& w : set.warnings) fmt::print(stderr, "warning: {}\n", w);
    return set;
}

int compare_command(const CompareOptions& o) {
    if (!o.out.empty()) probe_output_file(o.out);
    ReportSet set = load_with_warnings(o.paths);
    std::string text;
    if (o.format == "html") {
        text = html_report(set, o.baseline);
    } else {
        Table t = o.table == "accuracy" ? accuracy_table(set) : efficiency_table(set, o.baseline);
        if (o.format == "md") text = table_markdown(t);
        if (o.format == "csv") text = table_csv(t);
        if (o.format == "latex") text = table_latex(t);
        if (o.format == "json") text = table_json(t).dump(2) + "\n";
    }
    if (o.out.empty()) {
        fmt::print("{}", text);
    } else {
        write_file_atomic(o.out, text);
        fmt::print(stderr, "wrote {}\n", o.out);
    }
    return 0;
}

}  // namespace

Runner setup_compare(CLI::App& app) {
    auto o = std::make_shared<CompareOptions>();
    auto* sub = app.add_subcommand(
        "compare", "Accuracy and efficiency tables (or an HTML report) from reports");
    sub->add_option("paths", o->paths, "Report files or directories (searched recursively)")
        ->required();
    sub->add_option("--format", o->format, "md | csv | latex | json | html")
        ->check(CLI::IsMember({"md", "csv", "latex", "json", "html"}))
        ->capture_default_str();
    sub->add_option("--table", o->table, "accuracy | efficiency (html shows both)")
        ->check(CLI::IsMember({"accuracy", "efficiency"}))
        ->capture_default_str();
    sub->add_option("--baseline", o->baseline, "Variant the efficiency ratios are relative to")
        ->capture_default_str();
    sub->add_option("--out", o->out, "Write to this file (default: stdout)");
    return [o] { return compare_command(*o); };
}

}  // namespace xb::app
