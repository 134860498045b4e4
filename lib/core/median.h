// The median of timings (the speed benchmark's and the kernel benchmark's): the middle value, or
// the mean of the two middle values for an even count; 0 for none.
#pragma once
#include <algorithm>
#include <vector>

namespace xb {

inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n == 0 ? 0.0 : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

}  // namespace xb
