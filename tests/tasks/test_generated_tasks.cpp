// The generated LRA tasks (text, retrieval, image, pathfinder, pathx): determinism per seed,
// index-local generation, exact class balance, length and vocabulary bounds, and that labelers
// seeing only a fixed 10% window of each sequence are at chance.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>

#include "core/errors.h"
#include "support/task_fixtures.h"
#include "tasks/generated.h"
#include "tasks/task.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

namespace {

struct Case {
    const char* name;
    int max_len;
    int classes;
    int fixed_len;  // every sequence has exactly this length (images); 0 = variable
};

const Case kCases[] = {{"text", 1000, 2, 0},
                       {"retrieval", 1200, 2, 0},
                       {"image", 1024, 10, 1024},
                       {"pathfinder", 1024, 2, 1024},
                       {"pathx", 16384, 2, 16384}};

void check_split(const std::vector<Example>& split, const Case& c, const Task& task) {
    std::map<int, int> count;
    for (const auto& ex : split) {
        ++count[ex.label];
        REQUIRE(ex.label >= 0);
        REQUIRE(ex.label < c.classes);
        for (const auto* seq : {&ex.tokens, &ex.tokens2}) {
            if (seq == &ex.tokens2 && !task.is_pair()) {
                CHECK(seq->empty());
                continue;
            }
            REQUIRE_FALSE(seq->empty());
            CHECK(int(seq->size()) <= c.max_len);
            if (c.fixed_len) CHECK(int(seq->size()) == c.fixed_len);
            for (int32_t t : *seq) REQUIRE((t >= 1 && t < task.vocab_size()));
        }
    }
    // Balanced to within one example per class.
    int lo = 1 << 30, hi = 0;
    for (int k = 0; k < c.classes; ++k) {
        lo = std::min(lo, count[k]);
        hi = std::max(hi, count[k]);
    }
    CHECK(hi - lo <= 1);
}

}  // namespace

TEST_CASE("generated tasks: deterministic, index-local, balanced, within bounds") {
    for (const Case& c : kCases) {
        const std::string name = c.name;
        CAPTURE(name);
        const int n = c.fixed_len > 4096 ? 10 : 40;
        TaskConfig cfg = task_config(c.name, n, n / 2 + 3, n / 2, c.max_len);
        auto task = make_task(cfg);
        CHECK(task->num_classes() == c.classes);
        CHECK(task->vocab_size() == 257);
        CHECK(task->is_pair() == (std::string(c.name) == "retrieval"));
        Dataset a = task->generate(cfg, 5);
        Dataset b = task->generate(cfg, 5);
        CHECK(same_dataset(a, b));
        CHECK_FALSE(same_examples(a.train, task->generate(cfg, 6).train));
        CHECK(a.train.size() == size_t(n));
        for (const auto* split : {&a.train, &a.val, &a.test}) check_split(*split, c, *task);
        // The first examples do not depend on the split sizes.
        TaskConfig smaller = cfg;
        smaller.n_train = 7;
        smaller.n_val = 1;
        Dataset s = task->generate(smaller, 5);
        CHECK(same_examples(s.train, {a.train.begin(), a.train.begin() + 7}));
        CHECK(same_examples(s.val, {a.val.begin(), a.val.begin() + 1}));
        // Splits differ from one another.
        CHECK(a.train[0].tokens != a.val[0].tokens);
        CHECK_FALSE(task->preview(a.train[0]).empty());
    }
}

TEST_CASE("balanced_label: every block of K examples holds each label once") {
    for (int k : {2, 3, 10}) {
        for (int64_t block = 0; block < 20; ++block) {
            std::vector<int> seen(size_t(k), 0);
            for (int i = 0; i < k; ++i) ++seen[size_t(balanced_label(9, 4, block * k + i, k))];
            CHECK(std::all_of(seen.begin(), seen.end(), [](int v) { return v == 1; }));
        }
    }
}

TEST_CASE("text: documents are readable prose and hold the declared cue balance") {
    TaskConfig cfg = task_config("text", 20, 2, 2, 1500);
    auto task = make_task(cfg);
    Dataset d = task->generate(cfg, 3);
    for (const auto& ex : d.train) {
        std::string text = tokens_to_bytes(ex.tokens);
        CHECK(text.size() >= 750);  // min_bytes defaults to max_len / 2
        for (char ch : text)
            REQUIRE(((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == ' ' ||
                     ch == '.' || ch == ','));
        CHECK(text.back() == '.');
        // One 'z' per positive cue, one 'k' per negative cue: the balance is +-margin (2).
        long z = std::count(text.begin(), text.end(), 'z');
        long k = std::count(text.begin(), text.end(), 'k');
        CHECK(z - k == (ex.label ? 2 : -2));
        CHECK(z + k >= 750 / 40 - 1);
    }
}

TEST_CASE("text irony: the label is the cue balance, reversed exactly when a jest sentence is in") {
    TaskConfig cfg = task_config("text", 400, 1, 1, 1000, {{"irony", 0.25}, {"margin", 4}});
    Dataset d = make_task(cfg)->generate(cfg, 5);
    int ironic = 0, balance_agrees = 0;
    for (const auto& ex : d.train) {
        std::string text = tokens_to_bytes(ex.tokens);
        long z = std::count(text.begin(), text.end(), 'z');
        long k = std::count(text.begin(), text.end(), 'k');
        long j = std::count(text.begin(), text.end(), 'j');
        REQUIRE(std::abs(z - k) == 4);
        REQUIRE(j <= 1);
        CHECK(ex.label == ((z > k) != (j == 1)));
        ironic += int(j);
        balance_agrees += (z > k) == (ex.label == 1);
    }
    // Irony is drawn per document: about 100 of 400 (standard deviation 8.7), and the balance
    // alone is right on the others.
    CHECK(ironic > 70);
    CHECK(ironic < 130);
    CHECK(balance_agrees == 400 - ironic);
    // Without the option no document holds a 'j' and the datasets are the ones without it.
    TaskConfig plain = task_config("text", 50, 1, 1, 1000, {{"margin", 4}});
    TaskConfig off = task_config("text", 50, 1, 1, 1000, {{"irony", 0}, {"margin", 4}});
    Dataset a = make_task(plain)->generate(plain, 5), b = make_task(off)->generate(off, 5);
    for (size_t i = 0; i < a.train.size(); ++i) {
        CHECK(a.train[i].tokens == b.train[i].tokens);
        CHECK(std::count(a.train[i].tokens.begin(), a.train[i].tokens.end(), 'j' + 1) == 0);
    }
}

TEST_CASE("text: a length the generator accepts holds every cue; shorter ones are refused") {
    // Over lengths around the limit: each accepted config yields whole documents (the declared
    // balance, the jest sentence when drawn, never past max_len); some lengths are refused.
    int accepted = 0, refused = 0;
    for (double irony : {0.0, 1.0})
        for (int cue_every : {20, 40})
            for (int max_len = 40; max_len <= 240; max_len += 2) {
                CAPTURE(irony);
                CAPTURE(cue_every);
                CAPTURE(max_len);
                TaskConfig cfg = task_config("text", 200, 1, 1, max_len,
                                             {{"irony", irony}, {"cue_every", cue_every}});
                Dataset d;
                try {
                    d = make_task(cfg)->generate(cfg, 2);
                } catch (const ConfigError&) {
                    ++refused;
                    continue;
                }
                ++accepted;
                for (const auto& ex : d.train) {
                    const std::string text = tokens_to_bytes(ex.tokens);
                    REQUIRE(int(text.size()) <= max_len);
                    const long z = std::count(text.begin(), text.end(), 'z');
                    const long k = std::count(text.begin(), text.end(), 'k');
                    const long j = std::count(text.begin(), text.end(), 'j');
                    CHECK(std::abs(z - k) == 2);
                    CHECK(j == long(irony > 0));
                    CHECK(text.back() == '.');
                }
            }
    CHECK(accepted > 0);
    CHECK(refused > 0);
}

TEST_CASE("generated tasks: bad options and lengths are ConfigErrors") {
    CHECK_THROWS_AS(make_task(task_config("text", 1, 1, 1, 1000, {{"margin", 0}})), ConfigError);
    CHECK_THROWS_AS(make_task(task_config("text", 1, 1, 1, 1000, {{"bogus", 1}})), ConfigError);
    CHECK_THROWS_AS(make_task(task_config("text", 1, 1, 1, 1000, {{"irony", 1.5}})), ConfigError);
    CHECK_THROWS_AS(make_task(task_config("text", 1, 1, 1, 1000, {{"irony", true}})), ConfigError);
    CHECK_THROWS_AS(make_task(task_config("retrieval", 1, 1, 1, 1000, {{"purity", 0}})),
                    ConfigError);
    CHECK_THROWS_AS(make_task(task_config("image", 1, 1, 1, 1024, {{"max_radius", 20}})),
                    ConfigError);
    CHECK_THROWS_AS(make_task(task_config("pathfinder", 1, 1, 1, 1024, {{"thickness", -1}})),
                    ConfigError);
    TaskConfig short_image = task_config("image", 1, 1, 1, 1000);
    CHECK_THROWS_AS(make_task(short_image)->generate(short_image, 1), ConfigError);
    TaskConfig short_text = task_config("text", 1, 1, 1, 60);
    CHECK_THROWS_AS(make_task(short_text)->generate(short_text, 1), ConfigError);
    TaskConfig crowded =
        task_config("pathfinder", 1, 1, 1, 1024, {{"contour_length", 200}, {"distractors", 50}});
    CHECK_THROWS_AS(make_task(crowded)->generate(crowded, 1), ConfigError);
}

// A labeler that sees only a fixed 10% window is at chance: window naive Bayes (token counts,
// both documents' windows for pairs) and nearest centroid on raw window tokens, trained on 3000
// and tested on 2000 generated examples (pathfinder: 1500 and 1000), for the first 10% and a
// middle 10% window. The bound is chance + 0.05 (4.5 standard errors at 2000 test examples for
// 2 classes, 3.2 at 1000).
TEST_CASE("generated tasks: a labeler seeing one fixed 10% window is at chance") {
    struct WindowCase {
        const char* name;
        int max_len;
        int classes;
        nlohmann::json options;
    };
    // The quick preset's Pathfinder: 16x16, two short solid snakes, marker distance matched.
    const nlohmann::json quick_pathfinder = {{"side", 16},       {"contour_length", 3},
                                             {"min_gap", 0},     {"max_gap", 0},
                                             {"distractors", 0}, {"match_distance", true}};
    const nlohmann::json defaults = nlohmann::json::object();
    for (const WindowCase& c :
         {WindowCase{"text", 4000, 2, defaults}, WindowCase{"text", 4000, 2, {{"irony", 0.5}}},
          WindowCase{"retrieval", 4000, 2, defaults}, WindowCase{"image", 1024, 10, defaults},
          WindowCase{"pathfinder", 1024, 2, defaults},
          WindowCase{"pathfinder", 256, 2, quick_pathfinder}}) {
        const std::string name = c.name + (c.options.empty() ? "" : " " + c.options.dump());
        CAPTURE(name);
        // 32x32 Pathfinder images are the slowest to generate (crowded layouts): fewer of them.
        const bool slow = name == "pathfinder";
        TaskConfig cfg =
            task_config(c.name, slow ? 1500 : 3000, 1, slow ? 1000 : 2000, c.max_len, c.options);
        auto task = make_task(cfg);
        Dataset d = task->generate(cfg, 11);
        const double chance = 1.0 / c.classes;
        for (double start : {0.0, 0.45}) {
            CAPTURE(start);
            double nb = window_naive_bayes_accuracy(d.train, d.test, 257, c.classes, start, 0.1);
            double centroid = window_centroid_accuracy(d.train, d.test, c.classes, start, 0.1);
            MESSAGE(name, " window at ", start, ": naive Bayes ", nb, ", centroid ", centroid);
            CHECK(nb < chance + 0.05);
            CHECK(centroid < chance + 0.05);
        }
    }
}

namespace {

// The accuracy on `test` of "predict 1 when score > threshold", with the threshold that is best
// on `train` (so the labeler is fitted, not hand-tuned).
template <typename ScoreFn>
double threshold_labeler_accuracy(const std::vector<Example>& train,
                                  const std::vector<Example>& test, ScoreFn score) {
    std::vector<std::pair<double, int>> s;
    for (const auto& ex : train) s.push_back({score(ex), ex.label});
    std::sort(s.begin(), s.end());
    int ones_above = 0;
    for (const auto& p : s) ones_above += p.second;
    int zeros_below = 0, best = ones_above;  // threshold below everything: all predicted 1
    double threshold = s.empty() ? 0 : s[0].first - 1;
    for (size_t i = 0; i < s.size(); ++i) {
        zeros_below += s[i].second == 0;
        ones_above -= s[i].second;
        if ((i + 1 == s.size() || s[i + 1].first != s[i].first) && zeros_below + ones_above > best)
            best = zeros_below + ones_above, threshold = s[i].first;
    }
    int correct = 0;
    for (const auto& ex : test) correct += (score(ex) > threshold) == (ex.label == 1);
    return double(correct) / double(test.size());
}

}  // namespace

// Labelers that know each construction, restricted to one 10% window: the cue balance ('z'
// minus 'k', reversed by a jest sentence in the window under irony) for text, the overlap of cited
// initials between the two windows for retrieval.
TEST_CASE("text and retrieval: construction-aware labelers on one 10% window are near chance") {
    for (double start : {0.0, 0.45}) {
        CAPTURE(start);
        TaskConfig cfg = task_config("text", 3000, 1, 2000, 4000);
        Dataset d = make_task(cfg)->generate(cfg, 12);
        double text_acc = threshold_labeler_accuracy(d.train, d.test, [&](const Example& ex) {
            double balance = 0;
            for (int32_t t : window_of(ex.tokens, start, 0.1))
                balance += (t == 'z' + 1) - (t == 'k' + 1);
            return balance;
        });
        // With irony: the window's balance, reversed when the window holds the jest sentence.
        TaskConfig icfg = task_config("text", 3000, 1, 2000, 4000, {{"irony", 0.5}});
        Dataset di = make_task(icfg)->generate(icfg, 12);
        double irony_acc = threshold_labeler_accuracy(di.train, di.test, [&](const Example& ex) {
            double balance = 0, sign = 1;
            for (int32_t t : window_of(ex.tokens, start, 0.1)) {
                balance += (t == 'z' + 1) - (t == 'k' + 1);
                if (t == 'j' + 1) sign = -1;
            }
            return sign * balance;
        });
        TaskConfig rcfg = task_config("retrieval", 3000, 1, 2000, 4000);
        Dataset r = make_task(rcfg)->generate(rcfg, 12);
        auto initials = [&](const std::vector<int32_t>& tokens) {
            std::vector<double> count(26, 0.0);
            auto w = window_of(tokens, start, 0.1);
            for (size_t i = 0; i + 1 < w.size(); ++i)
                if (w[i] == '(' + 1 && w[i + 1] >= 'A' + 1 && w[i + 1] <= 'Z' + 1)
                    count[size_t(w[i + 1] - 'A' - 1)] += 1;
            return count;
        };
        double retrieval_acc = threshold_labeler_accuracy(r.train, r.test, [&](const Example& ex) {
            auto a = initials(ex.tokens), b = initials(ex.tokens2);
            double overlap = 0;
            for (size_t k = 0; k < 26; ++k) overlap += a[k] * b[k];
            return overlap;
        });
        MESSAGE("window at ", start, ": text cue balance ", text_acc, ", with irony ", irony_acc,
                ", retrieval overlap ", retrieval_acc);
        CHECK(text_acc < 0.55);
        CHECK(irony_acc < 0.55);
        CHECK(retrieval_acc < 0.55);
    }
}

TEST_CASE("image: foreground and background keep min_contrast, also above 128") {
    // Contrasts above 128 leave mid-grey backgrounds without a valid foreground; the generator
    // must still terminate and keep the contrast. Without noise, the darkest and brightest
    // pixels of an image are its two levels (anti-aliased edges lie between them).
    for (int contrast : {64, 129, 200, 255}) {
        CAPTURE(contrast);
        TaskConfig cfg =
            task_config("image", 40, 1, 1, 1024, {{"min_contrast", contrast}, {"max_noise", 0}});
        Dataset d = make_task(cfg)->generate(cfg, 7);
        int lowest_bg = 255, highest_bg = 0;
        for (const auto& ex : d.train) {
            auto [lo, hi] = std::minmax_element(ex.tokens.begin(), ex.tokens.end());
            CHECK(*hi - *lo >= contrast);
            // The top-left pixel is background (shapes stay on the canvas, radius <= 15).
            int bg = ex.tokens[0] - 1;
            lowest_bg = std::min(lowest_bg, bg);
            highest_bg = std::max(highest_bg, bg);
        }
        CHECK(lowest_bg <= 255 - contrast);  // both polarities occur
        CHECK(highest_bg >= contrast);
    }
}

TEST_CASE("image: polarity light and dark fix which level is the shape") {
    for (const char* polarity : {"light", "dark"}) {
        CAPTURE(polarity);
        TaskConfig cfg =
            task_config("image", 30, 1, 1, 1024, {{"polarity", polarity}, {"max_noise", 0}});
        Dataset d = make_task(cfg)->generate(cfg, 5);
        for (const auto& ex : d.train) {
            auto [lo, hi] = std::minmax_element(ex.tokens.begin(), ex.tokens.end());
            // The top-left pixel is background: the darkest level for light shapes.
            CHECK(ex.tokens[0] == (std::string(polarity) == "light" ? *lo : *hi));
        }
    }
    CHECK_THROWS_AS(make_task(task_config("image", 1, 1, 1, 1024, {{"polarity", "grey"}})),
                    ConfigError);
}

TEST_SUITE_END();
