#include <doctest/doctest.h>

#include "config/option_reader.h"

TEST_SUITE_BEGIN("unit");

using xb::ConfigError;
using xb::OptionReader;

TEST_CASE("option reader: reads values, keeps defaults, rejects unknown keys") {
    nlohmann::json j = {{"block", 64}, {"mode", "fixed"}};
    OptionReader r(j, "model.attention.options");
    CHECK(r.get_int("block", 32) == 64);
    CHECK(r.get_double("eps", 0.5) == 0.5);
    CHECK(r.get_choice("mode", "strided", {"strided", "fixed"}) == "fixed");
    r.finish();

    nlohmann::json bad = {{"blok", 64}};
    OptionReader r2(bad, "model.attention.options");
    r2.get_int("block", 32);
    CHECK_THROWS_WITH_AS(r2.finish(), "model.attention.options.blok: unknown key (valid: block)",
                         ConfigError);
}

TEST_CASE("option reader: type errors name the key") {
    nlohmann::json j = {{"block", "big"}};
    OptionReader r(j, "task.options");
    CHECK_THROWS_WITH_AS(r.get_int("block", 1),
                         "task.options.block: expected an integer, got \"big\"", ConfigError);
    nlohmann::json c = {{"mode", "zig"}};
    OptionReader rc(c, "x");
    CHECK_THROWS_AS(rc.get_choice("mode", "a", {"a", "b"}), ConfigError);
}

TEST_SUITE_END();
