// SVG figures written by hand (no plotting dependency): axes with ticks and labels, a legend and
// a title. tradeoff: LRA Figure 3 (x = steps/s, y = average accuracy, circle area = peak
// memory, each circle labelled). scaling: step time and peak memory against sequence length
// per variant on log-log axes, where quadratic and linear variants separate.
#pragma once
#include <string>

#include "report/plot_data.h"

namespace xb {

std::string tradeoff_svg(const TradeoffData& data);
std::string scaling_svg(const std::vector<ScalingSeries>& series, const std::string& source);

}  // namespace xb
