// Retrieval (LRA AAN): do two byte-level documents share a latent source? A pair task: the two
// documents are encoded separately by the shared encoder and classified from [u, v, u*v, u-v].
// Generated construction: num_topics latent sources, each a random subset of topic_words of 26
// cited authors with distinct initials ("(Kowalski)", "(Okafor)", ...). A document cites
// `citations` authors at uniformly random positions among neutral filler; each citation comes
// from the document's source with probability `purity`, else from all 26 authors. Positive
// pairs (label 1) come from the same source, negative pairs from two different ones. A single
// citation says little (every author belongs to many sources and half the citations are
// pool-wide); the evidence is the overlap of the two documents' citation profiles accumulated
// over their whole length. The citation count does not grow with the length, so longer
// documents spread the same evidence more thinly.
// Tokens are bytes + 1 (0 = padding), vocab 257.
// Loading: new_aan_pairs.{train,eval,test}.tsv (eval = val); n_* are ignored when loading.
#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "config/option_reader.h"
#include "core/errors.h"
#include "core/file_io.h"
#include "tasks/formats/aan_tsv.h"
#include "tasks/generated.h"
#include "tasks/prose.h"
#include "tasks/task.h"

namespace xb {

namespace {

namespace fs = std::filesystem;

constexpr uint64_t kRetrievalStream = 0x416e6e5061697273ULL;  // "AnnPairs"
constexpr uint64_t kTopicStream = 0x546f706963735631ULL;      // "TopicsV1"

const std::vector<std::string> kAuthors = {
    "Abbott", "Bergstrom", "Chandra", "Dubois",   "Eriksen",   "Fujita", "Gallo",
    "Haddad", "Ivanova",   "Jensen",  "Kowalski", "Lindqvist", "Moreau", "Nakamura",
    "Okafor", "Petrov",    "Quigley", "Rossi",    "Sato",      "Tanaka", "Ueda",
    "Varga",  "Wagner",    "Xu",      "Yilmaz",   "Zhang"};

struct RetrievalOptions {
    int num_topics = 32;
    int topic_words = 13;  // authors per source
    double purity = 0.5;   // probability that a citation comes from the source
    int citations = 40;    // per document
    int min_bytes = 0;     // 0 = max_len / 2
};

RetrievalOptions read_options(const nlohmann::json& options) {
    OptionReader r(options, "task.options");
    RetrievalOptions o;
    o.num_topics = r.get_int("num_topics", o.num_topics);
    o.topic_words = r.get_int("topic_words", o.topic_words);
    o.purity = r.get_double("purity", o.purity);
    o.citations = r.get_int("citations", o.citations);
    o.min_bytes = r.get_int("min_bytes", o.min_bytes);
    r.finish();
    if (o.num_topics < 2)
        throw ConfigError(
            fmt::format("task.options.num_topics: must be >= 2, got {}", o.num_topics));
    if (o.topic_words < 1 || o.topic_words > int(kAuthors.size()))
        throw ConfigError(fmt::format("task.options.topic_words: must be in [1, {}], got {}",
                                      kAuthors.size(), o.topic_words));
    if (!(o.purity > 0 && o.purity <= 1))
        throw ConfigError(fmt::format("task.options.purity: must be in (0, 1], got {}", o.purity));
    if (o.citations < 1)
        throw ConfigError(fmt::format("task.options.citations: must be >= 1, got {}", o.citations));
    if (o.min_bytes < 0)
        throw ConfigError(fmt::format("task.options.min_bytes: must be >= 0, got {}", o.min_bytes));
    return o;
}

class RetrievalTask : public Task {
  public:
    explicit RetrievalTask(RetrievalOptions o) : o_(o) {}
    int num_classes() const override { return 2; }
    int vocab_size() const override { return kByteVocabSize; }
    bool is_pair() const override { return true; }
    Dataset generate(const TaskConfig& cfg, uint64_t seed) const override;
    Dataset load(const TaskConfig& cfg) const override {
        require_directory(cfg.data_dir, "a folder with new_aan_pairs.{train,eval,test}.tsv");
        auto file = [&](const char* split) {
            return (fs::path(cfg.data_dir) / fmt::format("new_aan_pairs.{}.tsv", split)).string();
        };
        Dataset d;
        d.train = read_aan_tsv(file("train"), cfg.max_len);
        d.val = read_aan_tsv(file("eval"), cfg.max_len);
        d.test = read_aan_tsv(file("test"), cfg.max_len);
        return d;
    }
    void write(const Dataset& data, const std::string& dir) const override {
        make_directory(dir);
        write_aan_tsv((fs::path(dir) / "new_aan_pairs.train.tsv").string(), data.train, "train");
        write_aan_tsv((fs::path(dir) / "new_aan_pairs.eval.tsv").string(), data.val, "eval");
        write_aan_tsv((fs::path(dir) / "new_aan_pairs.test.tsv").string(), data.test, "test");
    }
    std::string preview(const Example& ex) const override {
        return fmt::format("[{}]\ndocument 1: {}\ndocument 2: {}",
                           ex.label ? "same source" : "different sources",
                           tokens_to_bytes(ex.tokens), tokens_to_bytes(ex.tokens2));
    }

  private:
    RetrievalOptions o_;
};

Dataset RetrievalTask::generate(const TaskConfig& cfg, uint64_t seed) const {
    check_generation_sizes(cfg);
    const int min_bytes = o_.min_bytes > 0 ? std::min(o_.min_bytes, cfg.max_len) : cfg.max_len / 2;
    // The longest citation with separators is 14 bytes.
    if (14 * o_.citations + 8 > min_bytes)
        throw ConfigError(fmt::format(
            "task.options.citations: {} citations do not fit documents of {} bytes (min_bytes, "
            "or max_len / 2); raise task.max_len or min_bytes, or lower citations",
            o_.citations, min_bytes));
    // The sources: fixed by the seed, shared by all splits.
    std::vector<std::vector<int>> topics(size_t(o_.num_topics));
    Rng topic_rng(seed, kTopicStream);
    for (auto& t : topics) {
        std::vector<int> all(kAuthors.size());
        for (size_t i = 0; i < all.size(); ++i) all[i] = int(i);
        for (int i = 0; i < o_.topic_words; ++i)
            std::swap(all[size_t(i)],
                      all[size_t(topic_rng.uniform_int(i, int64_t(all.size()) - 1))]);
        t.assign(all.begin(), all.begin() + o_.topic_words);
    }
    const RetrievalOptions o = o_;
    const int max_len = cfg.max_len;
    auto document = [=](Rng& rng, const std::vector<int>& topic) {
        const int target = int(rng.uniform_int(min_bytes, max_len));
        std::vector<std::string> cited;
        for (int i = 0; i < o.citations; ++i) {
            int author = rng.uniform() < o.purity
                             ? pick(rng, topic)
                             : int(rng.uniform_int(0, int64_t(kAuthors.size()) - 1));
            cited.push_back("(" + kAuthors[size_t(author)] + ")");
        }
        return bytes_to_tokens(render_prose(rng, cited, target, max_len), max_len);
    };
    return generate_balanced_splits(cfg, seed, kRetrievalStream, 2, [=](Rng& rng, int32_t label) {
        const int64_t k = int64_t(topics.size());
        int64_t t1 = rng.uniform_int(0, k - 1);
        int64_t t2 = label ? t1 : (t1 + rng.uniform_int(1, k - 1)) % k;
        Example ex;
        ex.label = label;
        ex.tokens = document(rng, topics[size_t(t1)]);
        ex.tokens2 = document(rng, topics[size_t(t2)]);
        return ex;
    });
}

}  // namespace

std::unique_ptr<Task> make_retrieval_task(const TaskConfig& cfg) {
    return std::make_unique<RetrievalTask>(read_options(cfg.options));
}

}  // namespace xb
