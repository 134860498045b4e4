// Learning-rate schedules at their boundaries: the first step, the end of warmup, the step after
// it, the last step and beyond, each against the formula in optim/schedule.h.
#include <doctest/doctest.h>

#include <cmath>

#include "optim/schedule.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;

namespace {

OptimConfig schedule(const char* name, int warmup) {
    OptimConfig cfg;
    cfg.lr = 0.5;
    cfg.schedule = name;
    cfg.warmup_steps = warmup;
    return cfg;
}

}  // namespace

TEST_CASE("schedule: linear warmup reaches the peak lr at the last warmup step, for every kind") {
    for (const char* name : {"constant", "rsqrt", "cosine"}) {
        CAPTURE(name);
        OptimConfig cfg = schedule(name, 10);
        const int64_t total = 1000000;  // cosine barely moves during warmup
        CHECK(learning_rate_at(cfg, 1, total) == doctest::Approx(0.05).epsilon(1e-4));
        CHECK(learning_rate_at(cfg, 5, total) == doctest::Approx(0.25).epsilon(1e-4));
        CHECK(learning_rate_at(cfg, 10, total) == doctest::Approx(0.5).epsilon(1e-4));
        CHECK(learning_rate_at(cfg, 0, total) == learning_rate_at(cfg, 1, total));  // 1-based
    }
}

TEST_CASE("schedule: constant stays at the peak after warmup") {
    OptimConfig cfg = schedule("constant", 10);
    CHECK(learning_rate_at(cfg, 11, 100) == 0.5);
    CHECK(learning_rate_at(cfg, 100, 100) == 0.5);
    CHECK(learning_rate_at(cfg, 1000, 100) == 0.5);
    cfg.warmup_steps = 0;
    CHECK(learning_rate_at(cfg, 1, 100) == 0.5);
}

TEST_CASE("schedule: rsqrt decays as sqrt(warmup / step) after warmup, lr/sqrt(step) without") {
    OptimConfig cfg = schedule("rsqrt", 100);
    CHECK(learning_rate_at(cfg, 101, 1000) == doctest::Approx(0.5 * std::sqrt(100.0 / 101.0)));
    CHECK(learning_rate_at(cfg, 400, 1000) == doctest::Approx(0.25));
    CHECK(learning_rate_at(cfg, 10000, 1000) == doctest::Approx(0.05));  // past the total too
    cfg.warmup_steps = 0;
    CHECK(learning_rate_at(cfg, 1, 1000) == doctest::Approx(0.5));
    CHECK(learning_rate_at(cfg, 4, 1000) == doctest::Approx(0.25));
}

TEST_CASE("schedule: cosine falls from the peak to the floor at the last step and stays there") {
    OptimConfig cfg = schedule("cosine", 0);
    cfg.min_lr_ratio = 0.1;
    const int64_t total = 200;
    CHECK(learning_rate_at(cfg, 1, total) ==
          doctest::Approx(0.5 * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI / 200)))));
    CHECK(learning_rate_at(cfg, 100, total) == doctest::Approx(0.5 * (0.1 + 0.9 * 0.5)));
    CHECK(learning_rate_at(cfg, total, total) == doctest::Approx(0.05));
    CHECK(learning_rate_at(cfg, total + 50, total) == doctest::Approx(0.05));
    // With warmup, the cosine factor is applied on top of the ramp.
    cfg.warmup_steps = 20;
    CHECK(learning_rate_at(cfg, 10, total) ==
          doctest::Approx(0.5 * 0.5 * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * 10 / 200)))));
}

TEST_SUITE_END();
