// Reading results for `compare` and `plot`: run reports ("xformer-bench/run/1") and speed files
// ("xformer-bench/speed/1") from files and directories (recursively, *.json). Other files are
// skipped with a warning naming them; nothing else about them is an error.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xb {

struct RunRecord {
    std::string path;
    std::string label;  // row label: the report's "label", else the variant
    std::string task, variant, status;
    uint64_t seed = 0;
    std::optional<double> test_accuracy;  // fraction in [0, 1]
    int max_len = 0;
    double steps_per_s = 0, tokens_per_s = 0;  // training, from time.step_mean_s and time.*
    double peak_tensor_bytes = 0, peak_rss_bytes = 0;
    nlohmann::json environment, config;
};

struct SpeedRecord {
    std::string path, variant;
    // What was measured besides variant and length: the model's shape, the batch, the thread
    // count and the SIMD target. Speeds of two setups are never put in one table.
    std::string setup;
    int length = 0, batch = 0;
    double steps_per_s = 0, tokens_per_s = 0, median_step_s = 0;
    double peak_tensor_bytes = 0, peak_rss_bytes = 0;
};

struct ReportSet {
    std::vector<RunRecord> runs;              // in path order
    std::vector<SpeedRecord> speeds;          // in path order, so later files win on duplicates
    std::vector<nlohmann::json> speed_files;  // whole speed documents (environment, config)
    std::vector<std::string> warnings;        // one per skipped file
};

// Paths may be files or directories; a missing path is an IoError. Files inside directories
// are read when their name ends in .json; a file named explicitly is always read.
ReportSet load_reports(const std::vector<std::string>& paths);

// Throws DataError naming two setups and their files when the speed records were measured with
// more than one setup (SpeedRecord::setup): tables and plots show one setup at a time.
void require_one_speed_setup(const ReportSet& set);

// Variant registry position (unknown names after all known ones), for a stable row order.
int variant_rank(const std::string& variant);

}  // namespace xb
