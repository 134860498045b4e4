// The Long Range Arena tables built from reports: accuracy (LRA Table 1: variants x tasks, test
// accuracy mean ± std over seeds, average over tasks) and efficiency (LRA Table 2: variants x
// sequence lengths, steps/s and peak memory with ratios to a baseline variant). Formatting to
// Markdown, CSV, LaTeX, JSON and HTML is in table_format.h.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "report/report_set.h"

namespace xb {

struct TableCell {
    std::optional<double> value;  // mean over runs; absent = no result
    std::optional<double> std;    // sample standard deviation when n >= 2
    std::optional<double> ratio;  // value relative to the baseline row
    int n = 0;                    // runs averaged
    std::string status;           // why there is no value: missing | failed | diverged | ...
    bool best = false;            // best in its column
};

struct TableColumn {
    std::string name;  // e.g. "listops", "steps/s 1024"
    int decimals = 2;
};

struct TableRow {
    std::string label;
    std::vector<TableCell> cells;
};

struct Table {
    std::string kind;  // accuracy | efficiency
    std::string title;
    std::string measured_on;  // "CPU, SIMD target" of the files it was built from (see below)
    std::vector<TableColumn> columns;
    std::vector<TableRow> rows;
    std::vector<std::string> notes;  // footnotes: units, sources, what the average covers
};

// Where the table's files were measured: "<cpu>, SIMD <simd>" from their environment blocks,
// with the number of files of each when they differ ("A, SIMD avx2 (3 files); B, SIMD avx512 (1
// file)"), so a table never hides that it mixes machines or instruction sets.
std::string measured_on(const std::vector<nlohmann::json>& environments);

// LRA task order first, then other task names alphabetically.
std::vector<std::string> ordered_tasks(const std::vector<std::string>& tasks);

// Accuracy in percent. Runs with status completed or diverged and a test accuracy count; a cell
// without any says why (the most informative status of its runs), never 0. The average covers
// the tasks where any row has a value (LRA leaves out Path-X, which every model FAILs); a row
// missing one of those tasks has no average.
Table accuracy_table(const ReportSet& set);

// From speed records when there are any (the newest file wins for a repeated variant and
// length), else from the run reports (length = task.max_len, averaged over runs).
Table efficiency_table(const ReportSet& set, const std::string& baseline);

}  // namespace xb
