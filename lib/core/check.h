// XB_CHECK: always-on invariant checks for programmer errors (shape mismatches, broken
// invariants). Prints file:line, the condition and a formatted message with values, then aborts.
// User and data errors are typed exceptions instead (core/errors.h).
#pragma once
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

namespace xb::detail {
[[noreturn]] inline void check_failed(const char* file, int line, const char* cond,
                                      const std::string& msg) {
    std::fprintf(stderr, "%s:%d: CHECK(%s) failed: %s\n", file, line, cond, msg.c_str());
    std::fflush(stderr);
    std::abort();
}
}  // namespace xb::detail

#define XB_CHECK(cond, ...)                                                                  \
    do {                                                                                     \
        if (!(cond))                                                                         \
            ::xb::detail::check_failed(__FILE__, __LINE__, #cond, fmt::format(__VA_ARGS__)); \
    } while (0)
