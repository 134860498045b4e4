// What the figures show, extracted from a ReportSet: the speed/accuracy/memory trade-off (LRA
// Figure 3) and step time and memory against sequence length per variant.
#pragma once
#include <string>
#include <vector>

#include "report/report_set.h"

namespace xb {

struct TradeoffPoint {
    std::string label;
    double steps_per_s = 0, accuracy = 0, peak_bytes = 0;  // accuracy in percent
};

struct TradeoffData {
    std::vector<TradeoffPoint> points;
    std::string source;                // where speed and memory came from
    std::vector<std::string> skipped;  // "label: why" for rows that cannot be placed
};

struct ScalingPoint {
    int length = 0;
    double step_s = 0, peak_bytes = 0;
};

struct ScalingSeries {
    std::string label;
    std::vector<ScalingPoint> points;  // ascending length
};

// y = average accuracy over tasks (as in the accuracy table). Speed and memory come from speed
// records at the longest length measured for the most variants, else from the run reports
// (mean over the label's runs).
TradeoffData tradeoff_data(const ReportSet& set);
// From speed records when there are any, else from run reports (length = task.max_len).
std::vector<ScalingSeries> scaling_data(const ReportSet& set, std::string* source);

}  // namespace xb
