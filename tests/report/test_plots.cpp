// SVG figures and the HTML report on fixtures: well-formed XML, one mark per variant, labels,
// and a self-contained page with both tables and both figures.
#include <doctest/doctest.h>

#include <cmath>

#include "report/html_report.h"
#include "report/plot_data.h"
#include "report/report_set.h"
#include "report/svg_plot.h"
#include "support/report_fixtures.h"
#include "support/run_binary.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

namespace {

// Two variants on ListOps plus a speed file where full is quadratic and linear linear.
std::string plot_fixtures() {
    std::string dir = temp_dir("plots");
    FixtureRun r;
    r.accuracy = 0.38;
    write_fixture_run(dir, r);
    r.variant = "linear";
    r.accuracy = 0.21;
    write_fixture_run(dir, r);
    std::vector<FixtureSpeed> speed;
    for (int len : {512, 1024, 2048, 4096}) {
        double k = len / 512.0;
        speed.push_back({"full", len, 0.01 * k * k, (1 << 20) * k * k});
        speed.push_back({"linear", len, 0.01 * k, (1 << 20) * k});
    }
    write_fixture_speed(dir + "/speed.json", speed);
    return dir;
}

}  // namespace

TEST_CASE("plot: tradeoff SVG is well-formed with one labelled circle per variant") {
    ReportSet set = load_reports({plot_fixtures()});
    TradeoffData d = tradeoff_data(set);
    REQUIRE(d.points.size() == 2);
    CHECK(d.points[0].accuracy == doctest::Approx(38.0));
    CHECK(d.points[1].steps_per_s == doctest::Approx(1 / 0.08));  // at the longest length, 4096
    std::string svg = tradeoff_svg(d);
    CHECK_MESSAGE(xml_problem(svg).empty(), xml_problem(svg));
    CHECK(count_occurrences(svg, "class=\"mark\"") == 2);
    CHECK(count_occurrences(svg, "data-label=\"full\"") == 1);
    CHECK(count_occurrences(svg, "data-label=\"linear\"") == 1);
    CHECK(count_occurrences(svg, "class=\"tick\"") >= 6);
    CHECK(count_occurrences(svg, "<title>") >= 3);  // figure title and one per circle
    CHECK(svg.find("average test accuracy (%)") != std::string::npos);
    CHECK(svg.find("circle area = peak memory") != std::string::npos);
    // Circle area follows memory: full uses 8x more at 4096 -> radius sqrt(8) x.
    auto radius = [&](const std::string& label) {
        size_t at = svg.find("data-label=\"" + label + "\"");
        size_t r = svg.find(" r=\"", at);
        return std::stod(svg.substr(r + 4));
    };
    CHECK(radius("full") == doctest::Approx(std::sqrt(8.0) * radius("linear")).epsilon(0.02));
}

TEST_CASE("plot: scaling SVG has a series per variant in both log-log panels") {
    std::string source;
    auto series = scaling_data(load_reports({plot_fixtures()}), &source);
    REQUIRE(series.size() == 2);
    CHECK(series[0].points.size() == 4);
    std::string svg = scaling_svg(series, source);
    CHECK_MESSAGE(xml_problem(svg).empty(), xml_problem(svg));
    CHECK(count_occurrences(svg, "class=\"series\"") == 4);
    CHECK(count_occurrences(svg, "data-label=\"full\"") == 2);
    CHECK(svg.find("sequence length (tokens)") != std::string::npos);
    CHECK(svg.find(">1000<") != std::string::npos);  // log ticks at 1-2-5 steps
    CHECK(svg.find(">2000<") != std::string::npos);
}

TEST_CASE("plot: the XML check itself rejects broken markup") {
    CHECK(xml_problem("<svg><g></svg>") != "");
    CHECK(xml_problem("<svg a=1/>") != "");
    CHECK(xml_problem("<svg>a & b</svg>") != "");
    CHECK(xml_problem("<svg><g a=\"1\"/>x &lt; y</svg>\n") == "");
}

TEST_CASE("html: one self-contained page with both tables, both figures, environment, configs") {
    ReportSet set = load_reports({plot_fixtures()});
    std::string html = html_report(set, "full");
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(count_occurrences(html, "<table class=\"accuracy\">") == 1);
    CHECK(count_occurrences(html, "<table class=\"efficiency\">") == 1);
    CHECK(count_occurrences(html, "<svg ") == 2);
    CHECK(count_occurrences(html, "class=\"mark\"") == 2);
    CHECK(html.find("Fixture CPU") != std::string::npos);
    CHECK(count_occurrences(html, "<details>") == 3);  // two runs and one speed file
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("src=") == std::string::npos);
    CHECK(html.find("href=") == std::string::npos);
    // Without <!DOCTYPE>, the page is well-formed XML as well.
    std::string body = html.substr(html.find("<html"));
    for (std::string tag : {"<meta charset=\"utf-8\">", "<br>"})
        for (size_t at; (at = body.find(tag)) != std::string::npos;)
            body.replace(at, tag.size(), tag.substr(0, tag.size() - 1) + "/>");
    CHECK_MESSAGE(xml_problem(body).empty(), xml_problem(body));
}

TEST_SUITE_END();
