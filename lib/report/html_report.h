// The HTML report: one self-contained page (inline CSS and SVG, no scripts, no network) with
// the accuracy and efficiency tables, the trade-off and scaling figures, the environments the
// results were measured in, and the config of every run.
#pragma once
#include <string>

#include "report/report_set.h"

namespace xb {

std::string html_report(const ReportSet& set, const std::string& baseline);

}  // namespace xb
