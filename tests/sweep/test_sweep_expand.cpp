// Sweep files: strict parsing, expansion order, stable readable IDs, filters and the shipped
// sweep files.
#include <doctest/doctest.h>

#include "attention/mixer.h"

#include <algorithm>
#include <cstdlib>

#include "config/run_config.h"
#include "core/errors.h"
#include "support/run_binary.h"
#include "sweep/sweep.h"
#include "tasks/task.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

namespace {

std::string sweep_dir() {
    std::string dir = temp_dir("sweep");
    write_text(dir + "/base.json", "{}");
    return dir;
}

const char* kSweep = R"({
  "tasks": {"listops": "base.json"},
  "variants": ["full", {"variant": "linear", "id": "linear-1l", "set": ["model.layers=1"]}],
  "grid": {"model.dim": [16, 32]},
  "seeds": [1, 2],
  "set": ["train.steps=5"]
})";

std::vector<std::string> ids(const std::vector<SweepRun>& runs) {
    std::vector<std::string> out;
    for (const auto& r : runs) out.push_back(r.id);
    return out;
}

// True when the sweep lists every registered task, each once.
bool lists_every_task(const SweepSpec& spec) {
    std::vector<std::string> tasks, listed;
    for (const auto& t : task_registry()) tasks.push_back(t.name);
    for (const auto& t : spec.tasks) listed.push_back(t.first);
    std::sort(tasks.begin(), tasks.end());
    std::sort(listed.begin(), listed.end());
    return listed == tasks;
}

}  // namespace

TEST_CASE("sweep: expansion order, readable IDs, labels and override order") {
    std::string dir = sweep_dir();
    SweepSpec spec = parse_sweep(kSweep, dir + "/s.json");
    SweepFilter filter;
    filter.set = {"train.batch_size=4"};
    std::vector<SweepRun> runs = expand_sweep(spec, filter);
    const std::vector<std::string> expected = {
        "listops__full__model.dim-16__seed1",      "listops__full__model.dim-16__seed2",
        "listops__full__model.dim-32__seed1",      "listops__full__model.dim-32__seed2",
        "listops__linear-1l__model.dim-16__seed1", "listops__linear-1l__model.dim-16__seed2",
        "listops__linear-1l__model.dim-32__seed1", "listops__linear-1l__model.dim-32__seed2"};
    CHECK(ids(runs) == expected);
    const SweepRun& r = runs[5];
    CHECK(r.label == "linear-1l__model.dim-16");
    CHECK(r.variant == "linear");
    CHECK(r.seed == 2);
    CHECK(r.config == dir + "/base.json");
    const std::vector<std::string> overrides = {"task.name=\"listops\"", "train.steps=5",
                                                "model.dim=16", "model.layers=1",
                                                "train.batch_size=4"};
    CHECK(r.overrides == overrides);
}

TEST_CASE("sweep: IDs do not depend on what else is in the sweep") {
    std::string dir = sweep_dir();
    std::vector<SweepRun> all = expand_sweep(parse_sweep(kSweep, dir + "/s.json"), {});
    CHECK(ids(all) == ids(expand_sweep(parse_sweep(kSweep, dir + "/s.json"), {})));
    std::string more = kSweep;
    more.replace(more.find("[1, 2]"), 6, "[3, 2, 1]");
    std::vector<SweepRun> bigger = expand_sweep(parse_sweep(more, dir + "/s.json"), {});
    CHECK(bigger.size() == 12);
    const std::vector<std::string> bigger_ids = ids(bigger);
    for (const auto& id : ids(all))
        CHECK(std::find(bigger_ids.begin(), bigger_ids.end(), id) != bigger_ids.end());
}

TEST_CASE("sweep: filters narrow the runs and name bad selections") {
    std::string dir = sweep_dir();
    SweepSpec spec = parse_sweep(kSweep, dir + "/s.json");
    SweepFilter f;
    f.variants = {"linear-1l"};
    f.seeds = {2};
    CHECK(ids(expand_sweep(spec, f)) ==
          std::vector<std::string>{"listops__linear-1l__model.dim-16__seed2",
                                   "listops__linear-1l__model.dim-32__seed2"});
    f = {};
    f.variants = {"bigbird"};
    CHECK_THROWS_WITH_AS(expand_sweep(spec, f), doctest::Contains("--variants bigbird: not in"),
                         ConfigError);
    f = {};
    f.seeds = {7};
    CHECK_THROWS_WITH_AS(expand_sweep(spec, f), doctest::Contains("--seeds 7"), ConfigError);
    f = {};
    f.tasks = {"text"};
    CHECK_THROWS_WITH_AS(expand_sweep(spec, f), doctest::Contains("valid: listops"), ConfigError);
}

TEST_CASE("sweep: bad sweep files are errors naming the key") {
    std::string dir = sweep_dir();
    auto expand = [&](const std::string& text) {
        return expand_sweep(parse_sweep(text, dir + "/s.json"), {});
    };
    CHECK_THROWS_WITH_AS(expand(R"({"tasks": {"listops": "base.json"}, "variants": ["nope"]})"),
                         doctest::Contains("variants[0]: unknown variant 'nope'"), ConfigError);
    CHECK_THROWS_WITH_AS(expand(R"({"tasks": {"sudoku": "base.json"}, "variants": ["full"]})"),
                         doctest::Contains("tasks.sudoku: unknown task"), ConfigError);
    CHECK_THROWS_WITH_AS(expand(R"({"tasks": {"listops": "gone.json"}, "variants": ["full"]})"),
                         doctest::Contains("gone.json not found"), IoError);
    CHECK_THROWS_WITH_AS(
        expand(R"({"tasks": {"listops": "base.json"}, "variants": ["full"], "seed": [1]})"),
        doctest::Contains("seed: unknown key"), ConfigError);
    CHECK_THROWS_WITH_AS(
        expand(R"({"tasks": {"listops": "base.json"}, "variants": ["full"], "grid": {"a": []}})"),
        doctest::Contains("grid.a: expected a non-empty list"), ConfigError);
    CHECK_THROWS_WITH_AS(
        expand(R"({"tasks": {"listops": "base.json"}, "variants": ["full", "full"]})"),
        doctest::Contains("'full' appears twice"), ConfigError);
    CHECK_THROWS_WITH_AS(expand(R"({"variants": ["full"]})"), doctest::Contains("tasks: missing"),
                         ConfigError);
    // An unknown variant that the filter leaves out is not an error.
    SweepFilter f;
    f.variants = {"full"};
    CHECK(expand_sweep(parse_sweep(R"({"tasks": {"listops": "base.json"},
                                       "variants": ["full", "nope"]})",
                                   dir + "/s.json"),
                       f)
              .size() == 1);
}

TEST_CASE("sweep: the shipped sweep files list every LRA task and variant") {
    const std::string src = xb::test::source_dir();
    for (const char* name : {"lra-quick.json", "lra.json"}) {
        CAPTURE(name);
        SweepSpec spec = read_sweep(src + "/configs/sweeps/" + name);
        // Registry driven: every registered task and every registered variant, each once.
        CHECK(lists_every_task(spec));
        std::vector<std::string> registered, listed;
        for (const auto& v : variant_registry()) registered.push_back(v.name);
        for (const auto& v : spec.variants) listed.push_back(v.variant);
        CHECK(listed == registered);
        SweepFilter f;
        f.tasks = {"listops"};
        f.variants = {"full", "linear"};
        CHECK(ids(expand_sweep(spec, f)) ==
              std::vector<std::string>{"listops__full__seed1", "listops__linear__seed1"});
    }
}

TEST_CASE("sweep: the medium tier runs every task with LRA's shapes and six variants") {
    const std::string src = xb::test::source_dir();
    SweepSpec spec = read_sweep(src + "/configs/sweeps/medium.json");
    CHECK(lists_every_task(spec));
    std::vector<std::string> variants;
    for (const auto& v : spec.variants) variants.push_back(v.variant);
    CHECK(variants ==
          std::vector<std::string>{"full", "local", "linear", "performer", "bigbird", "nystrom"});
    for (const SweepRun& run : expand_sweep(spec, {})) {
        CAPTURE(run.id);
        // Every cell is a valid run config.
        nlohmann::json j = read_json_file(run.config);
        for (const std::string& o : run.overrides) apply_override(j, o);
        RunConfig cfg = config_from_json(j);
        CHECK_NOTHROW(validate(cfg));
        // LRA's sequence length and model shape (the budget, recipe and image options differ).
        const nlohmann::json lra = read_json_file(src + "/configs/lra/" + run.task + ".json");
        CHECK(j.at("model").at("layers") == lra.at("model").at("layers"));
        CHECK(j.at("model").at("dim") == lra.at("model").at("dim"));
        CHECK(j.at("model").at("heads") == lra.at("model").at("heads"));
        CHECK(j.at("model").at("ffn_dim") == lra.at("model").at("ffn_dim"));
        CHECK(j.at("task").at("max_len") == lra.at("task").at("max_len"));
    }
}

TEST_SUITE_END();
