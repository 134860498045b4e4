// Small run reports and speed files written by tests, for `compare` and `plot`, and a minimal
// XML well-formedness check for the SVG output.
#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace xb::test {

struct FixtureRun {
    std::string task = "listops", variant = "full", status = "completed", label;
    int seed = 1, max_len = 512;
    std::optional<double> accuracy = 0.5;  // fraction
    double step_mean_s = 0.1, peak_tensor_bytes = 1 << 20;
};

// A report in the "xformer-bench/run/1" layout with the fields `compare` reads.
nlohmann::json fixture_run_report(const FixtureRun& r);
// Writes it to dir/<task>__<label or variant>__seed<seed>.json and returns the path.
std::string write_fixture_run(const std::string& dir, const FixtureRun& r);

struct FixtureSpeed {
    std::string variant;
    int length;
    double median_step_s, peak_tensor_bytes;
};
// A speed file ("xformer-bench/speed/1") with these records.
// `environment` is written as the file's environment (the measured setup's threads and simd).
std::string write_fixture_speed(const std::string& path, const std::vector<FixtureSpeed>& records,
                                const nlohmann::json& environment = {{"cpu", "Fixture CPU"}});

// Empty when text is well-formed XML (balanced, matching tags, quoted attributes, known
// entities); otherwise what is wrong and where.
std::string xml_problem(const std::string& text);

}  // namespace xb::test
