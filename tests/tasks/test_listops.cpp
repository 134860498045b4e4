// ListOps: evaluation, the LRA parenthesised format, the generator's guarantees (determinism,
// uniqueness, length window, limits, labels) and every class of bad TSV input.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/errors.h"
#include "tasks/formats/listops_tsv.h"
#include "tasks/task.h"

TEST_SUITE_BEGIN("unit");

namespace fs = std::filesystem;
using namespace xb;

namespace {

// Tokens from the pipeline view, e.g. "[MAX 2 9 ]".
std::vector<int32_t> tokens_of(const std::string& text) {
    std::istringstream in(text);
    std::vector<int32_t> out;
    std::string symbol;
    while (in >> symbol) {
        int32_t id = listops_token_id(symbol);
        REQUIRE(id >= 0);
        out.push_back(id);
    }
    return out;
}

int eval_text(const std::string& text) { return evaluate_listops(tokens_of(text)); }

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
// The random suffix keeps concurrent test runs (other checkouts) out of each other's way.
struct TempDir {
    fs::path path;
    explicit TempDir(const std::string& name) {
        path = fs::temp_directory_path() /
               ("xb_test_listops_" + name + "_" + std::to_string(std::random_device{}()));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string file(const std::string& name, const std::string& content) const {
        std::string p = (path / name).string();
        std::ofstream(p, std::ios::binary) << content;
        return p;
    }
};

TaskConfig small_config(int n_train, int n_val, int n_test, nlohmann::json options = {}) {
    TaskConfig cfg;
    cfg.name = "listops";
    cfg.n_train = n_train;
    cfg.n_val = n_val;
    cfg.n_test = n_test;
    cfg.options = {{"min_length", 20}, {"max_length", 100}};
    for (auto it = options.begin(); it != options.end(); ++it) cfg.options[it.key()] = it.value();
    return cfg;
}

std::vector<Example> all_examples(const Dataset& d) {
    std::vector<Example> out = d.train;
    out.insert(out.end(), d.val.begin(), d.val.end());
    out.insert(out.end(), d.test.begin(), d.test.end());
    return out;
}

bool same_examples(const std::vector<Example>& a, const std::vector<Example>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (a[i].tokens != b[i].tokens || a[i].label != b[i].label) return false;
    return true;
}

// The DataError message read_listops_tsv gives for a file with this content.
std::string load_error(const TempDir& dir, const std::string& content) {
    std::string path = dir.file("bad.tsv", content);
    try {
        read_listops_tsv(path, 2000);
    } catch (const DataError& e) {
        return e.what();
    }
    return "no error";
}

const std::string kGoodLine = "( ( ( [MAX 2 ) 9 ) ] )\t9\n";

}  // namespace

TEST_CASE("listops: each operator evaluates as LRA's to_value") {
    CHECK(eval_text("7") == 7);
    CHECK(eval_text("[MIN 3 1 4 ]") == 1);
    CHECK(eval_text("[MAX 3 1 4 ]") == 4);
    CHECK(eval_text("[SM 9 8 7 ]") == 4);
    CHECK(eval_text("[MED 3 1 4 ]") == 3);
    CHECK(eval_text("[MED 1 4 2 3 ]") == 2);  // np.median = 2.5, int() truncates
    CHECK(eval_text("[MED 8 9 ]") == 8);
    CHECK(eval_text("[MED 9 9 0 0 ]") == 4);
    CHECK(eval_text("[MAX 2 [MIN 7 5 ] [SM 9 9 ] ]") == 8);
    CHECK(eval_text("[SM [MED 1 2 ] [MAX 0 9 ] 5 ]") == 5);
    CHECK_THROWS_AS(eval_text("[MAX 2 9"), DataError);
}

TEST_CASE("listops: the writer reproduces LRA's parenthesised strings") {
    CHECK(listops_tokens_to_source(tokens_of("[MAX 2 9 ]")) == "( ( ( [MAX 2 ) 9 ) ] )");
    CHECK(listops_tokens_to_source(tokens_of("4")) == "4");
    const std::string lra =
        "( ( ( ( [MED 1 ) ( ( ( [SM 3 ) 2 ) ] ) ) ( ( ( ( [MED 8 ) 7 ) 1 ) ] ) ) ] )";
    std::vector<int32_t> tokens = tokens_of("[MED 1 [SM 3 2 ] [MED 8 7 1 ] ]");
    CHECK(listops_tokens_to_source(tokens) == lra);
    CHECK(evaluate_listops(tokens) == 5);
    CHECK(listops_tokens_to_text(tokenize_listops_source(lra)) ==
          "[MED 1 [SM 3 2 ] [MED 8 7 1 ] ]");
    CHECK(evaluate_listops(tokenize_listops_source(lra)) == 5);
}

TEST_CASE("listops: malformed token sequences are described") {
    CHECK(listops_tree_error(tokens_of("[MAX 2 9 ]")).empty());
    CHECK(listops_tree_error({}) == "empty expression");
    CHECK(listops_tree_error(tokens_of("[MAX 2 9")).find("not closed") != std::string::npos);
    CHECK(listops_tree_error(tokens_of("[MAX 2 9 ] ]")).find("closes no operator") !=
          std::string::npos);
    CHECK(listops_tree_error(tokens_of("[MAX 2 9 ] 3")).find("extra token") != std::string::npos);
    CHECK(listops_tree_error(tokens_of("[MAX ]")).find("no arguments") != std::string::npos);
    CHECK(listops_tree_error({kListOpsPad}).find("not a digit") != std::string::npos);
    CHECK_THROWS_AS(listops_tokens_to_source(tokens_of("[MAX 2 9")), DataError);
}

TEST_CASE("listops: registry entry and preview") {
    auto task = make_task(small_config(1, 1, 1));
    CHECK(task->num_classes() == 10);
    CHECK(task->vocab_size() == 17);
    CHECK_FALSE(task->is_pair());
    Example ex;
    ex.tokens = tokens_of("[MAX 2 9 ]");
    ex.label = 9;
    CHECK(task->preview(ex) == "[MAX 2 9 ] -> 9");
}

TEST_CASE("listops: generation is deterministic from the seed") {
    TaskConfig cfg = small_config(100, 20, 20);
    auto task = make_task(cfg);
    Dataset a = task->generate(cfg, 7), b = task->generate(cfg, 7), c = task->generate(cfg, 8);
    CHECK(a.train.size() == 100);
    CHECK(a.val.size() == 20);
    CHECK(a.test.size() == 20);
    CHECK(same_examples(all_examples(a), all_examples(b)));
    CHECK_FALSE(same_examples(a.train, c.train));
}

TEST_CASE("listops: generated trees respect the window, the limits and their labels") {
    const int max_depth = 6, max_args = 5;
    TaskConfig cfg = small_config(
        300, 50, 50,
        {{"max_depth", max_depth}, {"max_args", max_args}, {"operators", {"MIN", "SM", "MED"}}});
    auto task = make_task(cfg);
    std::vector<Example> examples = all_examples(task->generate(cfg, 1));
    REQUIRE(examples.size() == 400);
    std::set<std::vector<int32_t>> unique;
    for (const Example& ex : examples) {
        CHECK(ex.tokens.size() > 20);
        CHECK(ex.tokens.size() < 100);
        CHECK(ex.label >= 0);
        CHECK(ex.label < 10);
        CHECK(listops_tree_error(ex.tokens).empty());
        CHECK(evaluate_listops(ex.tokens) == ex.label);
        unique.insert(ex.tokens);
        // Operators sit at depth < max_depth, so at most max_depth - 1 are open at once.
        std::vector<int> args;
        size_t deepest = 0;
        for (int32_t t : ex.tokens) {
            CHECK(t != kListOpsMax);
            if (t != kListOpsEnd && !args.empty()) ++args.back();
            if (is_listops_operator(t)) args.push_back(0);
            if (t == kListOpsEnd) {
                CHECK(args.back() >= 2);
                CHECK(args.back() <= max_args);
                args.pop_back();
            }
            deepest = std::max(deepest, args.size());
        }
        CHECK(deepest <= size_t(max_depth - 1));
    }
    CHECK(unique.size() == examples.size());
}

TEST_CASE("listops: trees are unique across splits even in a narrow window") {
    // Lengths 4 and 5 only: 4 * 10^2 + 4 * 10^3 distinct trees, so 300 draws hit duplicates.
    TaskConfig cfg =
        small_config(200, 50, 50, {{"min_length", 3}, {"max_length", 6}, {"max_args", 3}});
    auto task = make_task(cfg);
    std::vector<Example> examples = all_examples(task->generate(cfg, 3));
    std::set<std::vector<int32_t>> unique;
    for (const Example& ex : examples) unique.insert(ex.tokens);
    CHECK(unique.size() == 300);

    // Length 4 only: 400 distinct trees cannot give 401 examples.
    TaskConfig tight =
        small_config(401, 0, 0, {{"min_length", 3}, {"max_length", 5}, {"max_args", 2}});
    CHECK_THROWS_AS(make_task(tight)->generate(tight, 3), ConfigError);
}

TEST_CASE("listops: all ten classes appear") {
    TaskConfig cfg = small_config(2000, 0, 0);
    auto task = make_task(cfg);
    std::vector<int> count(10, 0);
    for (const Example& ex : task->generate(cfg, 11).train) ++count[size_t(ex.label)];
    for (int k = 0; k < 10; ++k) CHECK_MESSAGE(count[size_t(k)] > 0, "class ", k);
}

TEST_CASE("listops: the default LRA window") {
    TaskConfig cfg;
    cfg.n_train = 200;
    cfg.n_val = 1;
    cfg.n_test = 1;
    auto task = make_task(cfg);
    for (const Example& ex : all_examples(task->generate(cfg, 5))) {
        CHECK(ex.tokens.size() > 500);
        CHECK(ex.tokens.size() < 2000);
    }
}

TEST_CASE("listops: TSV round trip is exact and in LRA's byte format") {
    TempDir dir("roundtrip");
    TaskConfig cfg = small_config(60, 10, 10);
    auto task = make_task(cfg);
    Dataset data = task->generate(cfg, 42);
    task->write(data, (dir.path / "out").string());

    std::ifstream in(dir.path / "out" / "basic_val.tsv", std::ios::binary);
    std::string header;
    std::getline(in, header);
    CHECK(header == "Source\tTarget\r");

    cfg.data_dir = (dir.path / "out").string();
    Dataset loaded = task->load(cfg);
    CHECK(same_examples(data.train, loaded.train));
    CHECK(same_examples(data.val, loaded.val));
    CHECK(same_examples(data.test, loaded.test));
}

TEST_CASE("listops: reading accepts both line endings and truncates to max_len") {
    TempDir dir("endings");
    std::string lra = "( ( ( ( [MED 1 ) ( ( ( [SM 3 ) 2 ) ] ) ) ( ( ( ( [MED 8 ) 7 ) 1 ) ] ) ) ] )";
    std::string unix_text = "Source\tTarget\n" + kGoodLine + lra + "\t5\n";
    std::string windows_text =
        "Source\tTarget\r\n( ( ( [MAX 2 ) 9 ) ] )\t9\r\n" + lra + "\t5\r\n\r\n";
    for (const std::string& content : {unix_text, windows_text}) {
        auto examples = read_listops_tsv(dir.file("ok.tsv", content), 2000);
        REQUIRE(examples.size() == 2);
        CHECK(examples[0].tokens == tokens_of("[MAX 2 9 ]"));
        CHECK(examples[0].label == 9);
        CHECK(examples[1].tokens == tokens_of("[MED 1 [SM 3 2 ] [MED 8 7 1 ] ]"));
        CHECK(examples[1].label == 5);
    }
    auto truncated = read_listops_tsv(dir.file("ok.tsv", unix_text), 3);
    CHECK(truncated[1].tokens == tokens_of("[MED 1 [SM"));
}

TEST_CASE("listops: each bad TSV input names file:line") {
    TempDir dir("bad");
    const std::string head = "Source\tTarget\n";
    auto has = [](const std::string& msg, const std::string& part) {
        INFO(msg);
        CHECK(msg.find(part) != std::string::npos);
    };
    has(load_error(dir, head + kGoodLine + "( ( ( [MAX 2 ) 9 ) ] )\t9\t1\n"), "bad.tsv:3:");
    has(load_error(dir, head + "( ( ( [MAX 2 ) 9 ) ] )\n"), "bad.tsv:2: expected 2 tab-separated");
    has(load_error(dir, "Source,Target\n" + kGoodLine), "bad.tsv:1: expected the header");
    has(load_error(dir, ""), "bad.tsv:1: missing the header");
    has(load_error(dir, head + kGoodLine + "( ( ( [MAX 2 ) 9 ) ] )\tnine\n"),
        "bad.tsv:3: target 'nine' is not an integer");
    has(load_error(dir, head + "( ( ( [MAX 2 ) 9 ) ] )\t12\n"),
        "bad.tsv:2: target 12 is out of range");
    has(load_error(dir, head + "( ( ( [FIRST 2 ) 9 ) ] )\t2\n"),
        "bad.tsv:2: unknown token '[FIRST'");
    has(load_error(dir, head + "( ( [MAX 2 ) 9 ) ] )\t9\n"), "bad.tsv:2: unbalanced parentheses");
    has(load_error(dir, head + "( ( ( ( [MAX 2 ) 9 ) ] )\t9\n"),
        "bad.tsv:2: unbalanced parentheses");
    has(load_error(dir, head + "( ( [MAX 2 ) 9 )\t9\n"), "bad.tsv:2: unbalanced brackets");
    has(load_error(dir, head + "( ( ( [MAX 2 ) 9 ) ] ) ]\t9\n"), "bad.tsv:2: unbalanced brackets");
    has(load_error(dir, head + "( )\t3\n"), "bad.tsv:2: empty source");
    has(load_error(dir, head + kGoodLine + "\n" + kGoodLine), "bad.tsv:3: blank line");

    std::string missing = (dir.path / "nope.tsv").string();
    CHECK_THROWS_WITH_AS(read_listops_tsv(missing, 2000), (missing + ": file not found").c_str(),
                         IoError);
    TaskConfig cfg = small_config(1, 1, 1);
    cfg.data_dir = (dir.path / "empty_dir").string();
    CHECK_THROWS_AS(make_task(cfg)->load(cfg), IoError);
}

TEST_CASE("listops: options are read strictly and validated") {
    auto config_error = [](nlohmann::json options) {
        TaskConfig cfg = small_config(1, 1, 1, std::move(options));
        try {
            make_task(cfg);
        } catch (const ConfigError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    std::string unknown = config_error({{"max_dpeth", 3}});
    CHECK(unknown.find("task.options.max_dpeth: unknown key") == 0);
    CHECK(unknown.find("operators") != std::string::npos);  // listed among the valid keys
    CHECK(config_error({{"max_args", 1}}).find("task.options.max_args") == 0);
    CHECK(config_error({{"max_depth", 0}}).find("task.options.max_depth") == 0);
    CHECK(config_error({{"leaf_prob", 1.0}}).find("task.options.leaf_prob") == 0);
    CHECK(config_error({{"min_length", 99}}).find("task.options.max_length") == 0);
    CHECK(config_error({{"operators", {"MIN", "FIRST"}}}).find("task.options.operators") == 0);
    CHECK(config_error({{"operators", {"MIN", "MIN"}}}).find("task.options.operators") == 0);
    CHECK(config_error({{"operators", "MIN"}}).find("task.options.operators") == 0);
    CHECK(config_error({{"max_depth", 2}, {"max_args", 3}}).find("task.options.min_length") == 0);

    TaskConfig cfg = small_config(1, 1, 1);
    cfg.max_len = 50;  // shorter than max_length - 1 = 99: generated trees are never truncated
    CHECK_THROWS_WITH_AS(make_task(cfg)->generate(cfg, 1), doctest::Contains("task.max_len"),
                         ConfigError);
}

TEST_SUITE_END();
