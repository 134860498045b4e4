// The speed file: one JSON document per `xformer-bench speed` run (schema kSpeedSchema,
// "xformer-bench/speed/1"), with a record per (variant, length). `speed` writes it and `compare`,
// `plot` and the HTML report read it back, both through SpeedReport and its to_json/from_json.
#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "report/schemas.h"
#include "train/speed.h"

namespace xb {

// What one `speed` invocation measured besides each record's variant and length.
struct SpeedMeasured {
    std::vector<std::string> variants;  // the first is the baseline
    std::vector<int> lengths;
    int batch = 0, steps = 0, warmup = 0, threads = 0;
    std::string simd;  // the SIMD target the kernels ran on
};

struct SpeedReport {
    std::optional<std::string> baseline;    // the variant the ratios are relative to
    std::string isolation;                  // how the measurements were kept apart
    nlohmann::json config;                  // to_json(RunConfig) of what was measured
    std::optional<SpeedMeasured> measured;  // absent in files of older versions
    std::vector<SpeedResult> records;
    nlohmann::json environment;  // environment_json()
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(SpeedMeasured, variants, lengths, batch, steps, warmup, threads,
                                   simd)
// Writes the "schema" key; baseline and measured only when set.
void to_json(nlohmann::json& j, const SpeedReport& r);
// "records" is required (each as from_json(SpeedResult) requires); the rest defaults. The schema
// is the caller's to check.
void from_json(const nlohmann::json& j, SpeedReport& r);

}  // namespace xb
