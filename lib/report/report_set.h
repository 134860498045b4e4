// Reading results for `compare` and `plot`: run reports (report/run_report.h) and speed files
// (report/speed_report.h) from files and directories (recursively, *.json). Other files are
// skipped with a warning naming them; nothing else about them is an error.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "report/run_report.h"
#include "report/speed_report.h"

namespace xb {

// A run report and the file it came from.
struct LoadedRun {
    std::string path;
    RunReport report;
};

// A speed file and the file it came from.
struct LoadedSpeedFile {
    std::string path;
    SpeedReport report;
};

// One record of a speed file, with its file and what it measured besides variant and length:
// the model's shape, the batch, the thread count and the SIMD target. Speeds of two setups are
// never put in one table.
struct LoadedSpeed {
    std::string path, setup;
    SpeedResult result;
};

struct ReportSet {
    std::vector<LoadedRun> runs;               // in path order
    std::vector<LoadedSpeed> speeds;           // in path order, so later files win on duplicates
    std::vector<LoadedSpeedFile> speed_files;  // whole speed documents (environment, config)
    std::vector<std::string> warnings;         // one per skipped file
};

// Paths may be files or directories; a missing path is an IoError. Files inside directories
// are read when their name ends in .json; a file named explicitly is always read.
ReportSet load_reports(const std::vector<std::string>& paths);

// Throws DataError naming two setups and their files when the speed records were measured with
// more than one setup (LoadedSpeed::setup): tables and plots show one setup at a time.
void require_one_speed_setup(const ReportSet& set);

// Variant registry position (unknown names after all known ones), for a stable row order.
int variant_rank(const std::string& variant);

}  // namespace xb
