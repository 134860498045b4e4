// SVG figures; see svg_plot.h. Marks carry class="mark" (tradeoff circles) or class="series"
// (scaling lines) and data-label, so tests and scripts can find one per variant.
#include "report/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "report/table_format.h"

namespace xb {

namespace {

const char* const kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"};
const char* colour(size_t i) { return kPalette[i % (sizeof(kPalette) / sizeof(kPalette[0]))]; }

// One axis: data range [lo, hi] mapped onto pixels [p0, p1], linear or log10.
struct Axis {
    double lo, hi;
    bool log;
    double p0, p1;

    double map(double v) const {
        double a = log ? std::log10(lo) : lo, b = log ? std::log10(hi) : hi;
        double x = log ? std::log10(v) : v;
        return p0 + (x - a) / (b - a) * (p1 - p0);
    }
    std::vector<double> ticks() const {
        std::vector<double> out;
        if (log) {
            for (int e = int(std::floor(std::log10(lo))); e <= int(std::ceil(std::log10(hi))); ++e)
                for (double m : {1.0, 2.0, 5.0}) {
                    double v = m * std::pow(10.0, e);
                    if (v >= lo && v <= hi) out.push_back(v);
                }
            if (out.size() > 9) {  // many decades: powers of ten only
                std::vector<double> decades;
                for (double v : out)
                    if (std::abs(std::log10(v) - std::round(std::log10(v))) < 1e-9)
                        decades.push_back(v);
                out = decades;
            }
            return out;
        }
        double raw = (hi - lo) / 5, mag = std::pow(10.0, std::floor(std::log10(raw)));
        double step = mag * (raw / mag < 1.5 ? 1 : raw / mag < 3.5 ? 2 : raw / mag < 7.5 ? 5 : 10);
        for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step)
            out.push_back(std::abs(v) < 1e-12 * step ? 0.0 : v);
        return out;
    }
};

// Data range with a margin, never empty, positive for log axes.
Axis make_axis(std::vector<double> values, bool log, double p0, double p1) {
    auto [mn, mx] = std::minmax_element(values.begin(), values.end());
    double lo = values.empty() ? 1 : *mn, hi = values.empty() ? 10 : *mx;
    if (log) {
        lo = std::max(lo, 1e-12);
        hi = std::max(hi, lo);
        return {lo / 1.5, hi * 1.5, true, p0, p1};
    }
    double pad = hi > lo ? 0.2 * (hi - lo) : std::max(1.0, 0.1 * std::abs(hi));
    return {lo - pad, hi + pad, false, p0, p1};
}

std::string num(double v) { return fmt::format("{:g}", v); }

// Frame, ticks, grid lines and axis labels of one panel.
std::string axes_svg(const Axis& x, const Axis& y, const std::string& xlabel,
                     const std::string& ylabel) {
    std::string s = fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" "
        "stroke=\"#333\"/>\n",
        x.p0, y.p1, x.p1 - x.p0, y.p0 - y.p1);
    for (double t : x.ticks()) {
        double px = x.map(t);
        s += fmt::format(
            "<line class=\"tick\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" "
            "stroke=\"#ddd\"/><text x=\"{0:.1f}\" y=\"{3:.1f}\" "
            "text-anchor=\"middle\">{4}</text>\n",
            px, y.p0, y.p1, y.p0 + 16, num(t));
    }
    for (double t : y.ticks()) {
        double py = y.map(t);
        s += fmt::format(
            "<line class=\"tick\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" "
            "stroke=\"#ddd\"/><text x=\"{3:.1f}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
            x.p0, py, x.p1, x.p0 - 6, py + 4, num(t));
    }
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
                     (x.p0 + x.p1) / 2, y.p0 + 38, html_escape(xlabel));
    s += fmt::format(
        "<text x=\"{0:.1f}\" y=\"{1:.1f}\" text-anchor=\"middle\" "
        "transform=\"rotate(-90 {0:.1f} {1:.1f})\">{2}</text>\n",
        x.p0 - 48, (y.p0 + y.p1) / 2, html_escape(ylabel));
    return s;
}

std::string svg_open(int w, int h, const std::string& title, const std::string& subtitle) {
    return fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
        "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"12\">\n"
        "<title>{2}</title>\n<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n"
        "<text x=\"{3}\" y=\"24\" text-anchor=\"middle\" font-size=\"16\" "
        "font-weight=\"bold\">{2}</text>\n"
        "<text x=\"{3}\" y=\"42\" text-anchor=\"middle\" fill=\"#555\">{4}</text>\n",
        w, h, html_escape(title), w / 2, html_escape(subtitle));
}

std::string legend_entry(double x, double y, const char* col, const std::string& label) {
    return fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"12\" height=\"12\" fill=\"{}\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
        x, y - 10, col, x + 18, y, html_escape(label));
}

}  // namespace

std::string tradeoff_svg(const TradeoffData& d) {
    const int w = 760, h = 500;
    std::vector<double> xs, ys;
    double max_bytes = 1;
    for (const auto& p : d.points) {
        xs.push_back(p.steps_per_s);
        ys.push_back(p.accuracy);
        max_bytes = std::max(max_bytes, p.peak_bytes);
    }
    Axis x = make_axis(xs, false, 80, w - 190);
    Axis y = make_axis(ys, false, h - 70, 60);
    std::string s = svg_open(w, h, "Speed, accuracy and memory", d.source);
    s += axes_svg(x, y, "speed (training steps per second)", "average test accuracy (%)");
    double lx = w - 170, ly = 80;
    for (size_t i = 0; i < d.points.size(); ++i) {
        const auto& p = d.points[i];
        double r = std::max(3.0, 28.0 * std::sqrt(p.peak_bytes / max_bytes));
        double cx = x.map(p.steps_per_s), cy = y.map(p.accuracy);
        s += fmt::format(
            "<circle class=\"mark\" data-label=\"{0}\" cx=\"{1:.1f}\" cy=\"{2:.1f}\" r=\"{3:.1f}\" "
            "fill=\"{4}\" fill-opacity=\"0.45\" stroke=\"{4}\"><title>{0}: {5:.3g} steps/s, "
            "{6:.2f}%, {7:.1f} MiB</title></circle>\n"
            "<text x=\"{1:.1f}\" y=\"{8:.1f}\" text-anchor=\"middle\">{0}</text>\n",
            html_escape(p.label), cx, cy, r, colour(i), p.steps_per_s, p.accuracy,
            p.peak_bytes / (1 << 20), cy - r - 4);
        s += legend_entry(lx, ly + 20 * double(i), colour(i), p.label);
    }
    s += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#555\">circle area = peak memory</text>\n", lx,
        ly + 20 * double(d.points.size()) + 10);
    if (d.points.empty())
        s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">no results</text>\n",
                         w / 2, h / 2);
    return s + "</svg>\n";
}

std::string scaling_svg(const std::vector<ScalingSeries>& series, const std::string& source) {
    const int w = 1060, h = 460, panel = 340;
    std::vector<double> lengths, times, bytes;
    for (const auto& sr : series)
        for (const auto& p : sr.points) {
            lengths.push_back(p.length);
            times.push_back(p.step_s);
            bytes.push_back(p.peak_bytes / (1 << 20));
        }
    std::string s = svg_open(w, h, "Step time and memory against sequence length", source);
    for (int panel_index = 0; panel_index < 2; ++panel_index) {
        const double left = 80 + panel_index * (panel + 90);
        Axis x = make_axis(lengths, true, left, left + panel);
        Axis y = make_axis(panel_index == 0 ? times : bytes, true, h - 70, 60);
        s += axes_svg(x, y, "sequence length (tokens)",
                      panel_index == 0 ? "training step time (s)" : "peak tensor memory (MiB)");
        for (size_t i = 0; i < series.size(); ++i) {
            std::string points, dots;
            for (const auto& p : series[i].points) {
                double v = panel_index == 0 ? p.step_s : p.peak_bytes / (1 << 20);
                if (v <= 0) continue;
                double px = x.map(p.length), py = y.map(v);
                points += fmt::format("{:.1f},{:.1f} ", px, py);
                dots += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\"/>", px, py);
            }
            s += fmt::format(
                "<g class=\"series\" data-label=\"{0}\" fill=\"{1}\" stroke=\"{1}\">"
                "<polyline points=\"{2}\" fill=\"none\" stroke-width=\"2\"/>{3}</g>\n",
                html_escape(series[i].label), colour(i), points, dots);
        }
    }
    for (size_t i = 0; i < series.size(); ++i)
        s += legend_entry(w - 180, 80 + 20 * double(i), colour(i), series[i].label);
    if (series.empty())
        s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">no results</text>\n",
                         w / 2, h / 2);
    return s + "</svg>\n";
}

}  // namespace xb
