// Helpers shared by the task tests; see task_fixtures.h.
#include "support/task_fixtures.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

namespace xb::test {

namespace fs = std::filesystem;

TaskConfig task_config(const std::string& name, int n_train, int n_val, int n_test, int max_len,
                       nlohmann::json options) {
    TaskConfig cfg;
    cfg.name = name;
    cfg.n_train = n_train;
    cfg.n_val = n_val;
    cfg.n_test = n_test;
    cfg.max_len = max_len;
    cfg.options = std::move(options);
    return cfg;
}

bool same_examples(const std::vector<Example>& a, const std::vector<Example>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (a[i].tokens != b[i].tokens || a[i].tokens2 != b[i].tokens2 || a[i].label != b[i].label)
            return false;
    return true;
}

bool same_dataset(const Dataset& a, const Dataset& b) {
    return same_examples(a.train, b.train) && same_examples(a.val, b.val) &&
           same_examples(a.test, b.test);
}

ScratchDir::ScratchDir(const std::string& name) {
    path = fs::temp_directory_path() /
           ("xb_test_" + name + "_" + std::to_string(std::random_device{}()));
    fs::remove_all(path);
    fs::create_directories(path);
}

ScratchDir::~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
}

std::string ScratchDir::file(const std::string& relative, const std::string& bytes) const {
    fs::path p = path / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
    return p.string();
}

std::vector<int32_t> window_of(const std::vector<int32_t>& tokens, double start, double fraction) {
    const size_t n = tokens.size();
    size_t begin = std::min(n, size_t(std::floor(start * double(n))));
    size_t end = std::min(n, begin + size_t(std::ceil(fraction * double(n))));
    return {tokens.begin() + std::ptrdiff_t(begin), tokens.begin() + std::ptrdiff_t(end)};
}

namespace {

std::vector<double> window_counts(const Example& ex, int vocab, double start, double fraction) {
    const bool pair = !ex.tokens2.empty();
    std::vector<double> counts(size_t(vocab) * (pair ? 2 : 1), 0.0);
    for (int32_t t : window_of(ex.tokens, start, fraction)) counts[size_t(t)] += 1;
    if (pair)
        for (int32_t t : window_of(ex.tokens2, start, fraction)) counts[size_t(vocab + t)] += 1;
    return counts;
}

double accuracy_of(const std::vector<Example>& test, const std::vector<int>& predicted) {
    int correct = 0;
    for (size_t i = 0; i < test.size(); ++i) correct += predicted[i] == test[i].label;
    return double(correct) / double(test.size());
}

}  // namespace

double window_naive_bayes_accuracy(const std::vector<Example>& train,
                                   const std::vector<Example>& test, int vocab, int num_classes,
                                   double start, double fraction) {
    const size_t features = window_counts(train[0], vocab, start, fraction).size();
    std::vector<std::vector<double>> totals(size_t(num_classes),
                                            std::vector<double>(features, 1.0));
    std::vector<double> prior(size_t(num_classes), 1.0);
    for (const auto& ex : train) {
        auto c = window_counts(ex, vocab, start, fraction);
        for (size_t f = 0; f < features; ++f) totals[size_t(ex.label)][f] += c[f];
        prior[size_t(ex.label)] += 1;
    }
    std::vector<std::vector<double>> log_p(static_cast<size_t>(num_classes),
                                           std::vector<double>(features));
    for (int k = 0; k < num_classes; ++k) {
        double sum = 0;
        for (double v : totals[size_t(k)]) sum += v;
        for (size_t f = 0; f < features; ++f)
            log_p[size_t(k)][f] = std::log(totals[size_t(k)][f] / sum);
    }
    std::vector<int> predicted;
    for (const auto& ex : test) {
        auto c = window_counts(ex, vocab, start, fraction);
        int best = 0;
        double best_score = -1e300;
        for (int k = 0; k < num_classes; ++k) {
            double score = std::log(prior[size_t(k)]);
            for (size_t f = 0; f < features; ++f) score += c[f] * log_p[size_t(k)][f];
            if (score > best_score) best_score = score, best = k;
        }
        predicted.push_back(best);
    }
    return accuracy_of(test, predicted);
}

double window_centroid_accuracy(const std::vector<Example>& train, const std::vector<Example>& test,
                                int num_classes, double start, double fraction) {
    const size_t width = window_of(train[0].tokens, start, fraction).size();
    std::vector<std::vector<double>> centroid(size_t(num_classes), std::vector<double>(width, 0.0));
    std::vector<double> count(size_t(num_classes), 0.0);
    for (const auto& ex : train) {
        auto w = window_of(ex.tokens, start, fraction);
        for (size_t i = 0; i < width && i < w.size(); ++i) centroid[size_t(ex.label)][i] += w[i];
        count[size_t(ex.label)] += 1;
    }
    for (int k = 0; k < num_classes; ++k)
        for (double& v : centroid[size_t(k)]) v /= std::max(1.0, count[size_t(k)]);
    std::vector<int> predicted;
    for (const auto& ex : test) {
        auto w = window_of(ex.tokens, start, fraction);
        int best = 0;
        double best_d = 1e300;
        for (int k = 0; k < num_classes; ++k) {
            double d = 0;
            for (size_t i = 0; i < width && i < w.size(); ++i)
                d += (w[i] - centroid[size_t(k)][i]) * (w[i] - centroid[size_t(k)][i]);
            if (d < best_d) best_d = d, best = k;
        }
        predicted.push_back(best);
    }
    return accuracy_of(test, predicted);
}

}  // namespace xb::test
