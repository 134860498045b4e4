// AdamW per-group overrides: a parameter in group "ssm" takes optim.groups.ssm's lr (scaled with
// the schedule) and weight decay; the others keep the global settings.
#include <doctest/doctest.h>

#include "optim/adamw.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;

TEST_CASE("adamw: optim.groups.ssm overrides lr and weight decay of the group's parameters") {
    ParameterStore params(1);
    Var plain = params.constant("plain", {2}, 1.0f, true);
    Var ssm = params.constant("ssm", {2}, 1.0f, false);
    params.set_group(ssm, "ssm");
    OptimConfig cfg;
    cfg.lr = 0.01;
    cfg.weight_decay = 0.5;
    cfg.eps = 1e-12;
    cfg.groups.ssm.lr = 0.001;
    cfg.groups.ssm.weight_decay = 0.25;
    AdamW opt(params, cfg);
    for (const Var& v : {plain, ssm}) v->grad_buffer().fill(2.0f);
    opt.step(0.005, 1);  // the schedule's lr: half of optim.lr, so the group gets half of 0.001
    // The first Adam step moves by lr·sign(g); decoupled decay subtracts lr·wd·w.
    CHECK(plain->value.data()[0] == doctest::Approx(1.0 - 0.005 - 0.005 * 0.5).epsilon(1e-6));
    CHECK(ssm->value.data()[1] == doctest::Approx(1.0 - 0.0005 - 0.0005 * 0.25).epsilon(1e-6));

    cfg.groups.ssm = OptimGroupConfig{};  // -1, -1: the global lr; no decay (flag off)
    ssm->value.fill(1.0f);
    AdamW global(params, cfg);
    global.step(0.005, 1);
    CHECK(ssm->value.data()[0] == doctest::Approx(1.0 - 0.005).epsilon(1e-6));
}

TEST_SUITE_END();
