// Bad command lines and configs: one line on stderr naming the problem, exit code 2, no report.
#include <doctest/doctest.h>

#include <filesystem>

#include "support/run_binary.h"

TEST_SUITE_BEGIN("integration");

using namespace xb::test;

TEST_CASE("cli: bad configs exit 2 with one line and write no report") {
    std::string dir = temp_dir("cli");
    write_text(dir + "/unknown.json", R"({"model": {"layres": 2}})");
    // A ListOps data directory whose val file has a malformed third line.
    std::string data = dir + "/listops";
    std::filesystem::create_directories(data);
    const std::string good = "Source\tTarget\n( ( ( [MAX 2 ) 9 ) ] )\t9\n";
    write_text(data + "/basic_train.tsv", good);
    write_text(data + "/basic_val.tsv", good + "( [MIN 3 ] )\n");
    write_text(data + "/basic_test.tsv", good);
    struct Case {
        std::string args, expect;
    } cases[] = {
        {"run --config " + dir + "/unknown.json", "model.layres: unknown key"},
        {"run --variant nope", "model.attention.variant: unknown variant 'nope'"},
        {"run --set model.heads=3", "model.heads=3 must divide model.dim=128"},
        {"run --set task.max_len=-1", "task.max_len=-1 must be positive"},
        {"run --set 'model.attention.options={\"window\":3}'",
         "model.attention.options.window: unknown key"},
        {"run --config " + dir + "/missing.json", "missing.json"},
        {"frobnicate", "frobnicate"},
        {"run --set task.data_dir=" + data, "basic_val.tsv:3: expected 2 tab-separated columns"},
        {"run --set task.data_dir=" + dir + "/nowhere", "nowhere"},
        {"speed --variants full,,linear", "empty item"},
        {"speed --lengths 1024,abc", "'abc' is not a positive integer"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.args);
        CommandResult r = run_xformer_bench(c.args + " --out " + dir + "/results");
        CHECK(r.exit_code == 2);
        CHECK(r.err.find(c.expect) != std::string::npos);
        CHECK(r.err.rfind("error: ", 0) == 0);
        CHECK(r.out.empty());
        CHECK_FALSE(std::filesystem::exists(dir + "/results"));
    }
}

TEST_CASE("cli: list prints the registries") {
    CommandResult r = run_xformer_bench("list");
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("listops") != std::string::npos);
    CHECK(r.out.find("full") != std::string::npos);
    CHECK(r.out.find("linear") != std::string::npos);
}

TEST_SUITE_END();
