// ListOps (LRA): classify the value 0-9 of a nested MIN/MAX/MED/SM expression, generated as
// lra_benchmarks/data/listops.py does or loaded from its basic_{train,val,test}.tsv files.
// Generated trees are never truncated: generate() requires task.max_len >= max_length - 1
// (ConfigError otherwise). Truncation to task.max_len applies only to trees loaded from files.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/option_reader.h"
#include "core/errors.h"
#include "core/rng.h"
#include "tasks/formats/listops_tsv.h"
#include "tasks/task.h"

namespace xb {

namespace {

constexpr uint64_t kListOpsStream = 0x4c6973744f7073ULL;  // "ListOps": this task's Rng stream

// Placeholders while a tree's shape is drawn. Digits and operators do not affect the length,
// so they are drawn only for trees inside the length window: the accepted trees have the same
// distribution as LRA's, and rejected ones cost one draw per node instead of two.
constexpr int32_t kLeafSlot = -1;
constexpr int32_t kOperatorSlot = -2;

// Consecutive failures after which generation stops with an error instead of looping forever.
constexpr int64_t kMaxMissesInARow = 20'000'000;   // trees outside the length window
constexpr int64_t kMaxDuplicatesInARow = 100'000;  // in-window trees already generated

struct ListOpsOptions {
    int max_depth = 10;
    int max_args = 10;
    double leaf_prob = 0.75;  // LRA: a node is a leaf when random() > VALUE_P = 0.25
    int min_length = 500;     // accept a tree only if min_length < length < max_length
    int max_length = 2000;
    std::vector<int32_t> operators = {kListOpsMin, kListOpsMax, kListOpsMed, kListOpsSumMod};
};

std::vector<int32_t> read_operators(const std::vector<std::string>& given,
                                    const std::string& key_path) {
    const std::vector<std::string> names = {"MIN", "MAX", "MED", "SM"};
    const std::vector<int32_t> ids = {kListOpsMin, kListOpsMax, kListOpsMed, kListOpsSumMod};
    if (given.empty())
        throw ConfigError(fmt::format("{}: expected a non-empty list of operator names ({})",
                                      key_path, join_names(names)));
    std::vector<int32_t> out;
    for (const auto& name : given) {
        auto it = std::find(names.begin(), names.end(), name);
        if (it == names.end())
            throw ConfigError(fmt::format("{}: unknown operator '{}' (valid: {})", key_path, name,
                                          join_names(names)));
        int32_t id = ids[size_t(it - names.begin())];
        // A repeated name would silently make that operator more likely.
        if (std::find(out.begin(), out.end(), id) != out.end())
            throw ConfigError(fmt::format("{}: operator '{}' listed twice", key_path, name));
        out.push_back(id);
    }
    return out;
}

ListOpsOptions read_options(const nlohmann::json& options) {
    OptionReader r(options, "task.options");
    ListOpsOptions o;
    o.max_depth = r.get_int("max_depth", o.max_depth);
    o.max_args = r.get_int("max_args", o.max_args);
    o.leaf_prob = r.get_double("leaf_prob", o.leaf_prob);
    o.min_length = r.get_int("min_length", o.min_length);
    o.max_length = r.get_int("max_length", o.max_length);
    std::vector<std::string> ops = r.get_string_list("operators", {"MIN", "MAX", "MED", "SM"});
    r.finish();
    o.operators = read_operators(ops, r.key_path("operators"));

    if (o.max_depth < 1)
        throw ConfigError(fmt::format("task.options.max_depth: must be >= 1, got {}", o.max_depth));
    if (o.max_args < 2 || o.max_args > 1'000'000)
        throw ConfigError(
            fmt::format("task.options.max_args: must be in [2, 1000000], got {}", o.max_args));
    if (!(o.leaf_prob > 0 && o.leaf_prob < 1))
        throw ConfigError(
            fmt::format("task.options.leaf_prob: must be in (0, 1), got {}", o.leaf_prob));
    if (o.min_length < 0)
        throw ConfigError(
            fmt::format("task.options.min_length: must be >= 0, got {}", o.min_length));
    // The window is open on both sides, so it needs room for at least one length.
    if (o.max_length < o.min_length + 2)
        throw ConfigError(fmt::format(
            "task.options.max_length: the window min_length < length < max_length is empty "
            "(min_length {}, max_length {})",
            o.min_length, o.max_length));
    // The longest possible tree: every node above max_depth an operator with max_args arguments.
    int64_t longest = 1;
    for (int depth = o.max_depth - 1; depth >= 1 && longest <= o.min_length; --depth)
        longest = 2 + int64_t(o.max_args) * longest;
    if (longest <= o.min_length)
        throw ConfigError(fmt::format(
            "task.options.min_length: {} but the longest tree with max_depth {} and max_args {} "
            "has {} tokens",
            o.min_length, o.max_depth, o.max_args, longest));
    return o;
}

// Draws one tree shape as LRA's generate_tree(depth=1) does, in prefix order (slots and `]`).
// Returns its length (tokens without parentheses), or 0 as soon as the length is known to reach
// max_length: such a tree would be rejected whatever the rest of it is.
int64_t draw_shape(Rng& rng, const ListOpsOptions& o, std::vector<int32_t>& shape,
                   std::vector<int>& args_left) {
    shape.clear();
    args_left.clear();  // per open operator, arguments still to draw; depth = size + 1
    const double op_prob = 1.0 - o.leaf_prob;  // LRA's VALUE_P
    // Final length = 1 + sum over operators of (arguments + 1), known once an operator is drawn.
    int64_t length = 1;
    while (true) {
        int depth = int(args_left.size()) + 1;
        bool leaf = depth >= o.max_depth || rng.uniform() > op_prob;
        if (!leaf) {
            int n = int(rng.uniform_int(2, o.max_args));
            length += n + 1;
            if (length >= o.max_length) return 0;
            shape.push_back(kOperatorSlot);
            args_left.push_back(n);
            continue;
        }
        shape.push_back(kLeafSlot);
        // A subtree is complete: close every operator whose last argument it was.
        while (true) {
            if (args_left.empty()) return length;
            if (--args_left.back() > 0) break;
            shape.push_back(kListOpsEnd);
            args_left.pop_back();
        }
    }
}

uint64_t hash_tokens(const std::vector<int32_t>& tokens) {
    uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over the ids, then a full mix
    for (int32_t t : tokens) h = (h ^ uint64_t(uint32_t(t))) * 0x100000001b3ULL;
    return mix64(h ^ tokens.size());
}

class ListOpsTask : public Task {
  public:
    explicit ListOpsTask(ListOpsOptions options) : o_(std::move(options)) {}
    int num_classes() const override { return kListOpsNumClasses; }
    int vocab_size() const override { return kListOpsVocabSize; }
    Dataset generate(const TaskConfig& cfg, uint64_t seed) const override;
    Dataset load(const TaskConfig& cfg) const override;
    void write(const Dataset& data, const std::string& dir) const override;
    std::string preview(const Example& ex) const override {
        return listops_tokens_to_text(ex.tokens) + " -> " + std::to_string(ex.label);
    }

  private:
    ListOpsOptions o_;
};

Dataset ListOpsTask::generate(const TaskConfig& cfg, uint64_t seed) const {
    if (cfg.n_train < 0 || cfg.n_val < 0 || cfg.n_test < 0)
        throw ConfigError(fmt::format("task.n_train/n_val/n_test: must be >= 0, got {}/{}/{}",
                                      cfg.n_train, cfg.n_val, cfg.n_test));
    if (cfg.max_len < o_.max_length - 1)
        throw ConfigError(fmt::format(
            "task.max_len: {} is shorter than the longest generated tree "
            "(task.options.max_length - 1 = {}); generated trees are never truncated, so raise "
            "task.max_len or lower task.options.max_length",
            cfg.max_len, o_.max_length - 1));

    const size_t total = size_t(cfg.n_train) + size_t(cfg.n_val) + size_t(cfg.n_test);
    Rng rng(seed, kListOpsStream);
    std::vector<Example> all;
    all.reserve(total);
    std::unordered_multimap<uint64_t, size_t> seen;  // hash of tokens -> index in `all`
    seen.reserve(total);
    std::vector<int32_t> tree;
    std::vector<int> args_left;
    int64_t misses = 0, duplicates = 0;
    const int64_t num_ops = int64_t(o_.operators.size());

    while (all.size() < total) {
        int64_t length = draw_shape(rng, o_, tree, args_left);
        if (length <= o_.min_length) {  // also the early-aborted trees (length 0)
            if (++misses > kMaxMissesInARow)
                throw ConfigError(fmt::format(
                    "task.options: {} trees in a row fell outside the length window ({}, {}); "
                    "widen min_length/max_length or raise max_depth/max_args",
                    misses, o_.min_length, o_.max_length));
            continue;
        }
        misses = 0;
        for (int32_t& t : tree) {
            if (t == kLeafSlot) t = kListOpsDigit0 + int32_t(rng.uniform_int(0, 9));
            if (t == kOperatorSlot) t = o_.operators[size_t(rng.uniform_int(0, num_ops - 1))];
        }
        // LRA keeps a set of trees; a token sequence identifies its tree.
        uint64_t h = hash_tokens(tree);
        auto [first, last] = seen.equal_range(h);
        bool duplicate =
            std::any_of(first, last, [&](const auto& e) { return all[e.second].tokens == tree; });
        if (duplicate) {
            if (++duplicates > kMaxDuplicatesInARow)
                throw ConfigError(fmt::format(
                    "task.options: the length window ({}, {}) holds too few distinct trees for "
                    "{} examples (stuck at {})",
                    o_.min_length, o_.max_length, total, all.size()));
            continue;
        }
        duplicates = 0;
        seen.emplace(h, all.size());
        Example ex;
        ex.tokens.assign(tree.begin(), tree.end());
        ex.label = evaluate_listops(ex.tokens);
        all.push_back(std::move(ex));
    }

    // Examples are i.i.d., so generation order is already a shuffle (LRA uses set order).
    Dataset data;
    auto take = [&](std::vector<Example>& split, size_t begin, size_t count) {
        split.assign(std::make_move_iterator(all.begin() + std::ptrdiff_t(begin)),
                     std::make_move_iterator(all.begin() + std::ptrdiff_t(begin + count)));
    };
    take(data.train, 0, size_t(cfg.n_train));
    take(data.val, size_t(cfg.n_train), size_t(cfg.n_val));
    take(data.test, size_t(cfg.n_train) + size_t(cfg.n_val), size_t(cfg.n_test));
    return data;
}

Dataset ListOpsTask::load(const TaskConfig& cfg) const {
    if (cfg.max_len <= 0)
        throw ConfigError(fmt::format("task.max_len: must be positive, got {}", cfg.max_len));
    namespace fs = std::filesystem;
    const fs::path dir(cfg.data_dir);
    Dataset data;
    data.train = read_listops_tsv((dir / "basic_train.tsv").string(), cfg.max_len);
    data.val = read_listops_tsv((dir / "basic_val.tsv").string(), cfg.max_len);
    data.test = read_listops_tsv((dir / "basic_test.tsv").string(), cfg.max_len);
    return data;
}

void ListOpsTask::write(const Dataset& data, const std::string& dir) const {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw IoError(fmt::format("{}: cannot create directory: {}", dir, ec.message()));
    write_listops_tsv((fs::path(dir) / "basic_train.tsv").string(), data.train);
    write_listops_tsv((fs::path(dir) / "basic_val.tsv").string(), data.val);
    write_listops_tsv((fs::path(dir) / "basic_test.tsv").string(), data.test);
}

}  // namespace

std::unique_ptr<Task> make_listops_task(const TaskConfig& cfg) {
    return std::make_unique<ListOpsTask>(read_options(cfg.options));
}

}  // namespace xb
