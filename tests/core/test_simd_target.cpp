// The run-time SIMD target: XB_SIMD is honoured by the kernels' dispatch, reported, and checked.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <set>
#include <string>

#include "core/simd_target.h"
#include "support/run_binary.h"

TEST_SUITE_BEGIN("unit");

TEST_CASE("simd: the forced target is the one the kernels use, and targets are listed best first") {
    const auto targets = xb::available_simd_targets();
    REQUIRE(!targets.empty());
    CHECK(targets.back().name == "scalar");  // the portable path is always there, and last
    std::set<std::string> names;
    for (size_t i = 0; i < targets.size(); ++i) {
        names.insert(targets[i].name);
        if (i) CHECK(targets[i - 1].bits < targets[i].bits);  // Highway: lower bit = better
    }
    CHECK(names.size() == targets.size());
    const char* forced = std::getenv("XB_SIMD");
    // Under CTest every run forces one target; run by hand, the best one is in use.
    CHECK(xb::current_simd_target() == (forced ? std::string(forced) : targets.front().name));
}

TEST_CASE("simd: XB_SIMD with an unknown or unsupported target is a one-line error, exit 2" *
          doctest::test_suite("integration")) {
    auto r = xb::test::run_xformer_bench("list", "XB_SIMD=avx9");
    CHECK(r.exit_code == 2);
    CHECK(r.err ==
          "error: XB_SIMD=avx9: unknown SIMD target (valid: avx512, avx2, sse4, scalar)\n");
    CHECK(r.out.empty());
    const std::string dir = xb::test::temp_dir("simd");
    r = xb::test::run_xformer_bench("speed --kernel --lengths 64 --batch 1 --steps 1 --out " + dir,
                                    "XB_SIMD=sse4");
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("simd: sse4") != std::string::npos);  // the speed table names what ran
    const std::string text = xb::test::read_text(dir + "/kernel_full_attention.json");
    CHECK(text.find("\"simd\": \"sse4\"") != std::string::npos);
    // Each length has the sgemm peak measured next to it, and the row's share of it.
    const nlohmann::json kernel = nlohmann::json::parse(text);
    REQUIRE(kernel["records"].size() == 1);
    CHECK(kernel["records"][0]["sgemm_gflops"].get<double>() > 0);
    CHECK(r.out.find("of_peak") != std::string::npos);
}

TEST_SUITE_END();
