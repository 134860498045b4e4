// `xformer-bench plot`: writes one SVG figure from reports: `tradeoff` (LRA Figure 3: speed,
// average accuracy, memory as circle area) or `scaling` (step time and memory against sequence
// length, log-log).
#include <fmt/format.h>

#include <memory>

#include "commands.h"
#include "core/file_io.h"
#include "report/plot_data.h"
#include "report/report_set.h"
#include "report/svg_plot.h"

namespace xb::app {

namespace {

struct PlotOptions {
    std::vector<std::string> paths;
    std::string kind;
    std::string out;
};

int plot_command(const PlotOptions& o) {
    ReportSet set = load_reports(o.paths);
    for (const auto& w : set.warnings) fmt::print(stderr, "warning: {}\n", w);
    std::string svg;
    if (o.kind == "tradeoff") {
        TradeoffData d = tradeoff_data(set);
        for (const auto& s : d.skipped) fmt::print(stderr, "warning: not plotted: {}\n", s);
        svg = tradeoff_svg(d);
    } else {
        std::string source;
        std::vector<ScalingSeries> series = scaling_data(set, &source);
        svg = scaling_svg(series, source);
    }
    write_file_atomic(o.out, svg);
    fmt::print("wrote {}\n", o.out);
    return 0;
}

}  // namespace

Runner setup_plot(CLI::App& app) {
    auto o = std::make_shared<PlotOptions>();
    auto* sub = app.add_subcommand("plot", "SVG figure from reports: tradeoff or scaling");
    sub->add_option("paths", o->paths, "Report files or directories (searched recursively)")
        ->required();
    sub->add_option("--kind", o->kind, "tradeoff | scaling")
        ->required()
        ->check(CLI::IsMember({"tradeoff", "scaling"}));
    sub->add_option("--out", o->out, "SVG file to write")->required();
    return [o] { return plot_command(*o); };
}

}  // namespace xb::app
