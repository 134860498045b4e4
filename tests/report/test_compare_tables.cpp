// compare's tables on fixed report fixtures: mean ± std over seeds, missing and failed cells,
// averages, best marks, baseline ratios, every output format; foreign and corrupt files skipped
// with warnings naming them.
#include <doctest/doctest.h>

#include "core/errors.h"
#include "report/plot_data.h"
#include "report/report_set.h"
#include "report/table_format.h"
#include "report/tables.h"
#include "support/report_fixtures.h"
#include "support/run_binary.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

namespace {

// listops: full 30/40/50 % over seeds 1-3, linear 20 %; text: full 60 %, linear failed;
// retrieval: full 55 %, linear missing.
std::string accuracy_fixtures() {
    std::string dir = temp_dir("tables");
    for (int seed = 1; seed <= 3; ++seed) {
        FixtureRun r;
        r.seed = seed;
        r.accuracy = 0.2 + 0.1 * seed;
        write_fixture_run(dir, r);
    }
    FixtureRun r;
    r.variant = "linear";
    r.accuracy = 0.2;
    write_fixture_run(dir, r);
    r.task = "text";
    r.status = "failed";
    r.accuracy.reset();
    write_fixture_run(dir, r);
    r = FixtureRun{};
    r.task = "text";
    r.accuracy = 0.6;
    write_fixture_run(dir, r);
    r.task = "retrieval";
    r.accuracy = 0.55;
    write_fixture_run(dir, r);
    return dir;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("compare: accuracy table with mean ± std, missing and failed cells, average, best") {
    const std::string dir = accuracy_fixtures();
    // A file named twice (directory and file) counts once.
    ReportSet set = load_reports({dir, dir + "/listops__linear__seed1.json"});
    CHECK(set.warnings.empty());
    REQUIRE(set.runs.size() == 7);
    Table t = accuracy_table(set);
    REQUIRE(t.columns.size() == 4);
    CHECK(t.columns[0].name == "listops");  // LRA task order, not alphabetical
    CHECK(t.columns[1].name == "text");
    CHECK(t.columns[2].name == "retrieval");
    CHECK(t.columns[3].name == "average");
    REQUIRE(t.rows.size() == 2);
    CHECK(t.rows[0].label == "full");  // registry order

    const std::string md = table_markdown(t);
    CAPTURE(md);
    CHECK(contains(md, "| variant | listops | text | retrieval | average |"));
    CHECK(contains(md, "| full | **40.00 ± 10.00** | **60.00** | **55.00** | **51.67** |"));
    CHECK(contains(md, "| linear | 20.00 | failed | – | – |"));

    const std::string csv = table_csv(t);
    CAPTURE(csv);
    CHECK(contains(csv, "variant,listops,listops std,listops n,text,"));
    CHECK(contains(csv, "\nfull,40.00,10.00,3,60.00,,1,55.00,,1,51.67,,3\n"));
    CHECK(contains(csv, "\nlinear,20.00,,1,failed,,,missing,,,missing,,\n"));

    const std::string tex = table_latex(t);
    CAPTURE(tex);
    CHECK(contains(tex, "\\begin{tabular}{lrrrr}"));
    CHECK(contains(tex, "\\toprule"));
    CHECK(contains(tex, "\\bottomrule"));
    CHECK(contains(tex, "full & \\textbf{40.00 $\\pm$ 10.00} & \\textbf{60.00}"));
    CHECK(contains(tex, "linear & 20.00 & failed & -- & -- \\\\"));

    nlohmann::json j = table_json(t);
    CHECK(j["table"] == "accuracy");
    const auto& full = j["rows"][0]["cells"];
    CHECK(full["listops"]["value"].get<double>() == doctest::Approx(40.0));
    CHECK(full["listops"]["std"].get<double>() == doctest::Approx(10.0));
    CHECK(full["listops"]["n"] == 3);
    CHECK(full["listops"]["best"] == true);
    const auto& linear = j["rows"][1]["cells"];
    CHECK(linear["retrieval"]["value"].is_null());
    CHECK(linear["retrieval"]["status"] == "missing");
    CHECK(linear["text"]["status"] == "failed");
}

TEST_CASE("compare: tables say on which CPU and SIMD target their files were measured") {
    const nlohmann::json a = {{"cpu", "CPU A"}, {"simd", "avx2"}};
    const nlohmann::json b = {{"cpu", "CPU B"}, {"simd", "avx512"}};
    CHECK(measured_on({a, a}) == "CPU A, SIMD avx2");
    CHECK(measured_on({b, a, a}) == "CPU A, SIMD avx2 (2 files); CPU B, SIMD avx512 (1 file)");
    CHECK(measured_on({nlohmann::json::object(), a}) ==
          "CPU A, SIMD avx2 (1 file); unknown, SIMD unknown (1 file)");

    const Table t = accuracy_table(load_reports({accuracy_fixtures()}));
    CHECK(t.measured_on == "Fixture CPU, SIMD unknown");
    CHECK(contains(table_markdown(t),
                   "### Test accuracy (%)\n\nMeasured on Fixture CPU, SIMD "
                   "unknown.\n\n| variant |"));
    CHECK(contains(table_latex(t), "% Measured on Fixture CPU, SIMD unknown.\n"));
    CHECK(table_json(t)["measured_on"] == "Fixture CPU, SIMD unknown");

    std::string dir = temp_dir("measured-on");
    write_fixture_speed(dir + "/speed_a.json", {{"full", 512, 0.1, 1 << 20}},
                        {{"cpu", "CPU B"}, {"simd", "avx512"}});
    CHECK(efficiency_table(load_reports({dir}), "full").measured_on == "CPU B, SIMD avx512");
}

TEST_CASE("compare: the average leaves out tasks no variant has a result for") {
    std::string dir = temp_dir("avg");
    FixtureRun r;
    r.accuracy = 0.4;
    write_fixture_run(dir, r);
    r.task = "pathx";
    r.status = "diverged";
    r.accuracy.reset();
    write_fixture_run(dir, r);
    Table t = accuracy_table(load_reports({dir}));
    const std::string md = table_markdown(t);
    CAPTURE(md);
    CHECK(contains(md, "| full | **40.00** | diverged | **40.00** |"));
    CHECK(contains(md, "The average covers the 1 tasks with any result."));
}

TEST_CASE("compare: efficiency table from speed files with ratios to the baseline") {
    std::string dir = temp_dir("eff");
    const double mib = 1 << 20;
    write_fixture_speed(dir + "/speed_a.json", {{"full", 512, 0.1, 1 * mib},
                                                {"full", 1024, 0.4, 4 * mib},
                                                {"linear", 512, 0.08, 1 * mib},
                                                {"linear", 1024, 0.1, 2 * mib}});
    write_fixture_run(dir, FixtureRun{});  // run reports are not mixed in when speed files exist
    Table t = efficiency_table(load_reports({dir}), "full");
    const std::string md = table_markdown(t);
    CAPTURE(md);
    CHECK(contains(md, "| variant | steps/s 512 | steps/s 1024 | MiB 512 | MiB 1024 |"));
    CHECK(contains(md, "| full | 10.00 (1.00×) | 2.50 (1.00×) | 1.0 (1.00×) | 4.0 (1.00×) |"));
    CHECK(contains(md, "| linear | 12.50 (1.25×) | 10.00 (4.00×) | 1.0 (1.00×) | 2.0 (0.50×) |"));
    const std::string csv = table_csv(t);
    CAPTURE(csv);
    CHECK(contains(csv, "\nlinear,12.50,,1,1.250,10.00,,1,4.000,1.0,,1,1.000,2.0,,1,0.500\n"));

    // A later file (by name) replaces a repeated (variant, length); a missing baseline
    // removes the ratios instead of inventing them.
    write_fixture_speed(dir + "/speed_b.json", {{"linear", 1024, 0.2, 2 * mib}});
    Table u = efficiency_table(load_reports({dir}), "bigbird");
    CHECK(*u.rows[1].cells[1].value == doctest::Approx(5.0));
    CHECK_FALSE(u.rows[1].cells[1].ratio.has_value());
    CHECK(contains(table_markdown(u), "No ratios: the baseline 'bigbird'"));
}

TEST_CASE("compare: speed files of two measured setups are refused, naming both") {
    std::string dir = temp_dir("effsetup");
    const double mib = 1 << 20;
    const nlohmann::json avx512 = {{"cpu", "Fixture CPU"}, {"threads", 2}, {"simd", "avx512"}};
    const std::string a =
        write_fixture_speed(dir + "/a.json", {{"full", 512, 0.1, 1 * mib}}, avx512);
    // The same setup again: one table, whose note names the setup.
    write_fixture_speed(dir + "/b.json", {{"linear", 512, 0.05, 1 * mib}}, avx512);
    Table t = efficiency_table(load_reports({dir}), "full");
    CHECK(t.rows.size() == 2);
    const std::string md = table_markdown(t);
    CAPTURE(md);
    CHECK(contains(md, "batch 8, 2 threads, avx512"));
    // Another instruction set: no table, one error naming both setups and files.
    const nlohmann::json avx2 = {{"cpu", "Fixture CPU"}, {"threads", 2}, {"simd", "avx2"}};
    const std::string c = write_fixture_speed(dir + "/c.json", {{"full", 512, 0.2, 1 * mib}}, avx2);
    try {
        efficiency_table(load_reports({dir}), "full");
        FAIL("mixed setups were accepted");
    } catch (const DataError& e) {
        const std::string msg = e.what();
        CAPTURE(msg);
        CHECK(contains(msg, "avx512' (" + a + ")"));
        CHECK(contains(msg, "avx2' (" + c + ")"));
        CHECK(msg.find('\n') == std::string::npos);
    }
    CHECK_THROWS_AS(tradeoff_data(load_reports({dir})), DataError);
}

TEST_CASE("compare: efficiency table from run reports when there are no speed files") {
    std::string dir = temp_dir("effrun");
    FixtureRun r;
    r.step_mean_s = 0.5;
    write_fixture_run(dir, r);
    r.variant = "linear";
    r.step_mean_s = 0.25;
    r.peak_tensor_bytes = 3 << 20;
    write_fixture_run(dir, r);
    const std::string md = table_markdown(efficiency_table(load_reports({dir}), "full"));
    CAPTURE(md);
    CHECK(contains(md, "| linear | 4.00 (2.00×) | 3.0 (3.00×) |"));
}

TEST_CASE("compare: foreign, corrupt and incomplete JSON files are skipped with a warning") {
    std::string dir = accuracy_fixtures();
    write_text(dir + "/broken.json", "{\"schema\": \"xformer-bench/run/1\", ");
    write_text(dir + "/package.json", "{\"name\": \"something else\"}");
    write_text(dir + "/partial.json", "{\"schema\": \"xformer-bench/run/1\", \"status\": \"x\"}");
    write_text(dir + "/notes.txt", "not JSON and not named .json: ignored silently");
    ReportSet set = load_reports({dir});
    CHECK(set.runs.size() == 7);
    REQUIRE(set.warnings.size() == 3);
    CHECK(contains(set.warnings[0], "broken.json"));
    CHECK(contains(set.warnings[1], "package.json"));
    CHECK(contains(set.warnings[2], "partial.json"));
    CHECK_THROWS_WITH_AS(load_reports({dir + "/nowhere"}), doctest::Contains("nowhere"),
                         xb::IoError);
}

TEST_CASE("compare: LaTeX output escapes every character LaTeX treats specially") {
    Table t;
    t.kind = "accuracy";
    t.columns = {{"task_1", 2}};
    TableCell cell;
    cell.value = 50.0;
    cell.n = 1;
    t.rows = {{R"(a\b{c}~d^e_f%g&h#i$j)", {cell}}};
    const std::string tex = table_latex(t);
    CAPTURE(tex);
    CHECK(contains(tex, "task\\_1"));
    CHECK(contains(
        tex,
        R"(a\textbackslash{}b\{c\}\textasciitilde{}d\textasciicircum{}e\_f\%g\&h\#i\$j & 50.00)"));
}

TEST_SUITE_END();
