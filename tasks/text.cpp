// Text (LRA IMDb): byte-level binary document classification.
// Generated construction: readable prose of neutral filler fragments with n cue phrases
// ("truly amazing", "rather clunky", ...) at uniformly random positions; n grows with the
// document length (one cue per cue_every bytes). Positive documents hold (n + margin) / 2
// positive and (n - margin) / 2 negative cues, negative documents the reverse. Every positive
// cue word holds exactly one 'z' and every negative one exactly one 'k', letters the filler never
// uses, so the evidence is countable even by a byte-level model, but only over the whole
// document: locally each cue is almost equally likely to be either polarity, and a 10% window
// sees about n/10 cues whose balance is nearly uninformative (tests/tasks/
// test_generated_tasks.cpp). Option irony = p: a fraction p of the documents (drawn per
// document) also hold one sentence saying the review is meant in jest, the only 'j' in any
// document, and their label is the reverse of their cue balance. The label is then balance XOR
// irony: the balance alone is right on a fraction 1 - p, and only a model that relates the jest
// sentence to cues far from it does better; a 10% window that sees the jest sentence still sees
// only a tenth of the cues. Tokens are bytes + 1 (0 = padding), vocab 257.
// Loading: the aclImdb layout; train = train/, test = test/, and val = val/ when present (as
// `data` writes it) else test/ (LRA evaluates on the test set as validation). n_* are ignored.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "config/option_reader.h"
#include "core/errors.h"
#include "core/file_io.h"
#include "tasks/formats/imdb_dir.h"
#include "tasks/generated.h"
#include "tasks/prose.h"
#include "tasks/task.h"

namespace xb {

namespace {

namespace fs = std::filesystem;

constexpr uint64_t kTextStream = 0x54657874496d6462ULL;  // "TextImdb"

const std::vector<std::string> kOpeners = {"so", "truly", "very", "quite", "rather", "really"};
// Exactly one 'z' in each positive word and one 'k' in each negative word.
const std::vector<std::string> kPositive = {"amazing", "breezy", "zesty", "blazing",
                                            "prized",  "cozy",   "zippy"};
const std::vector<std::string> kNegative = {"awkward", "clunky", "sickly", "murky",
                                            "broken",  "bleak",  "tacky"};
// Irony sentences: each holds exactly one 'j', a letter neither the filler nor the cues use.
const std::vector<std::string> kIrony = {"every line of it is a jest", "it is all said in jest",
                                         "the critic is only jesting"};

bool shorter(const std::string& a, const std::string& b) { return a.size() < b.size(); }
// The longest phrase of a list (the first of equals).
const std::string& longest(const std::vector<std::string>& phrases) {
    return *std::max_element(phrases.begin(), phrases.end(), shorter);
}

struct TextOptions {
    int min_bytes = 0;   // shortest generated document; 0 = max_len / 2
    int cue_every = 40;  // one cue phrase per this many bytes of document
    int margin = 2;      // |#positive - #negative| cues
    double irony = 0;    // fraction of ironic documents: label = balance sign reversed
};

TextOptions read_options(const nlohmann::json& options) {
    OptionReader r(options, "task.options");
    TextOptions o;
    o.min_bytes = r.get_int("min_bytes", o.min_bytes);
    o.cue_every = r.get_int("cue_every", o.cue_every);
    o.margin = r.get_int("margin", o.margin);
    o.irony = r.get_double("irony", o.irony);
    r.finish();
    if (o.min_bytes < 0)
        throw ConfigError(fmt::format("task.options.min_bytes: must be >= 0, got {}", o.min_bytes));
    if (o.cue_every < 20)
        throw ConfigError(
            fmt::format("task.options.cue_every: must be >= 20 bytes, got {}", o.cue_every));
    if (o.margin < 1)
        throw ConfigError(fmt::format("task.options.margin: must be >= 1, got {}", o.margin));
    if (!(o.irony >= 0 && o.irony <= 1))
        throw ConfigError(fmt::format("task.options.irony: must be in [0, 1], got {}", o.irony));
    return o;
}

class TextTask : public Task {
  public:
    explicit TextTask(TextOptions o) : o_(o) {}
    int num_classes() const override { return 2; }
    int vocab_size() const override { return kByteVocabSize; }
    Dataset generate(const TaskConfig& cfg, uint64_t seed) const override;
    Dataset load(const TaskConfig& cfg) const override;
    void write(const Dataset& data, const std::string& dir) const override;
    std::string preview(const Example& ex) const override {
        return fmt::format("[{}] {}", ex.label ? "positive" : "negative",
                           tokens_to_bytes(ex.tokens));
    }

  private:
    TextOptions o_;
};

Dataset TextTask::generate(const TaskConfig& cfg, uint64_t seed) const {
    check_generation_sizes(cfg);
    const int min_bytes = o_.min_bytes > 0 ? std::min(o_.min_bytes, cfg.max_len) : cfg.max_len / 2;
    // The shortest document is the most crowded: it must hold its cues, each of the longest
    // kind, and a jest sentence, with the separators render_prose puts between them. (Longer
    // documents hold a cue per cue_every >= 20 bytes, more room than a cue takes.)
    const std::string longest_cue =
        longest(kOpeners) + " " + std::max(longest(kPositive), longest(kNegative), shorter);
    std::vector<std::string> crowded(size_t(min_bytes / o_.cue_every), longest_cue);
    if (o_.irony > 0) crowded.push_back(longest(kIrony));
    if (min_bytes / o_.cue_every < o_.margin || prose_min_bytes(crowded) > min_bytes)
        throw ConfigError(fmt::format(
            "task.options: documents of {} bytes (min_bytes, or max_len / 2) cannot hold {} "
            "cues with cue_every {} and margin {}; raise task.max_len or cue_every, or lower "
            "margin",
            min_bytes, min_bytes / o_.cue_every, o_.cue_every, o_.margin));
    const int max_len = cfg.max_len;
    const TextOptions o = o_;
    return generate_balanced_splits(cfg, seed, kTextStream, 2, [=](Rng& rng, int32_t label) {
        const int target = int(rng.uniform_int(min_bytes, max_len));
        int n = std::max(o.margin, target / o.cue_every);
        if ((n - o.margin) % 2) --n;  // n and margin share parity
        const int majority = (n + o.margin) / 2;
        const bool ironic = o.irony > 0 && rng.uniform() < o.irony;
        const bool leans_positive = (label == 1) != ironic;
        std::vector<std::string> cues;
        for (int i = 0; i < n; ++i) {
            bool positive = (i < majority) == leans_positive;
            cues.push_back(pick(rng, kOpeners) + " " + pick(rng, positive ? kPositive : kNegative));
        }
        if (ironic) cues.push_back(pick(rng, kIrony));
        // Polarities in random order (render_prose keeps the order it is given).
        for (size_t i = cues.size(); i > 1; --i)
            std::swap(cues[i - 1], cues[size_t(rng.uniform_int(0, int64_t(i) - 1))]);
        Example ex;
        ex.tokens = bytes_to_tokens(render_prose(rng, cues, target, max_len), max_len);
        ex.label = label;
        return ex;
    });
}

Dataset TextTask::load(const TaskConfig& cfg) const {
    fs::path root(cfg.data_dir);
    if (fs::is_directory(root / "aclImdb")) root /= "aclImdb";
    require_directory(root.string(), "the aclImdb folder with train/ and test/");
    Dataset d;
    d.train = read_imdb_split((root / "train").string(), cfg.max_len);
    d.test = read_imdb_split((root / "test").string(), cfg.max_len);
    d.val = fs::is_directory(root / "val") ? read_imdb_split((root / "val").string(), cfg.max_len)
                                           : d.test;
    return d;
}

void TextTask::write(const Dataset& data, const std::string& dir) const {
    const fs::path root = fs::path(dir) / "aclImdb";
    write_imdb_split((root / "train").string(), data.train);
    write_imdb_split((root / "val").string(), data.val);
    write_imdb_split((root / "test").string(), data.test);
}

}  // namespace

std::unique_ptr<Task> make_text_task(const TaskConfig& cfg) {
    return std::make_unique<TextTask>(read_options(cfg.options));
}

}  // namespace xb
