// The single doctest binary; tests live beside it in folders that mirror lib/ and tasks/.
// XB_SIMD (or the option --simd=NAME) selects the SIMD target the kernels run on, as in the CLI;
// CTest runs the kernel-level cases once per target (CMakeLists.txt). A target this CPU lacks is
// skipped with exit code 77.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/errors.h"
#include "core/simd_target.h"
#include "support/simd_once.h"

namespace {
std::string g_best_target;  // before XB_SIMD narrows what the CPU offers
}  // namespace

bool xb::test::on_best_simd_target() { return xb::current_simd_target() == g_best_target; }

int main(int argc, char** argv) {
    bool listing = false;  // CTest's discovery lists the cases after every build: stay quiet
    for (int i = 1; i < argc; ++i) {  // doctest ignores options it does not know
        if (std::strncmp(argv[i], "--simd=", 7) == 0) setenv("XB_SIMD", argv[i] + 7, 1);
        if (std::strncmp(argv[i], "--list-", 7) == 0) listing = true;
    }
    g_best_target = xb::available_simd_targets().front().name;
    try {
        xb::apply_simd_override_from_env();
    } catch (const xb::ConfigError& e) {
        std::fprintf(stderr, "skipped: %s\n", e.what());
        return 77;
    }
    if (!listing) std::fprintf(stderr, "simd target: %s\n", xb::current_simd_target().c_str());
    return doctest::Context(argc, argv).run();
}
