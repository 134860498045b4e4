// Helpers shared by the task tests: small task configs, example comparison, temporary
// directories, and "window labelers" that see only a fixed 10% window of each sequence.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "tasks/task.h"

namespace xb::test {

TaskConfig task_config(const std::string& name, int n_train, int n_val, int n_test, int max_len,
                       nlohmann::json options = nlohmann::json::object());

bool same_examples(const std::vector<Example>& a, const std::vector<Example>& b);
bool same_dataset(const Dataset& a, const Dataset& b);

// A fresh directory under the system temp dir, removed with its contents at scope exit.
struct ScratchDir {
    std::filesystem::path path;
    explicit ScratchDir(const std::string& name);
    ~ScratchDir();
    std::string str() const { return path.string(); }
    // Writes bytes to path/relative (creating parent folders) and returns the full path.
    std::string file(const std::string& relative, const std::string& bytes) const;
};

// The tokens of a window covering `fraction` of the sequence starting at `start` (a fraction of
// the length), e.g. (0, 0.1) = the first 10%.
std::vector<int32_t> window_of(const std::vector<int32_t>& tokens, double start, double fraction);

// Multinomial naive Bayes over the token counts of a window (for pair tasks, of both documents'
// windows, as separate features), trained on `train`, accuracy on `test`.
double window_naive_bayes_accuracy(const std::vector<Example>& train,
                                   const std::vector<Example>& test, int vocab, int num_classes,
                                   double start, double fraction);

// Nearest class centroid on the raw window tokens (position-aware), accuracy on `test`.
double window_centroid_accuracy(const std::vector<Example>& train, const std::vector<Example>& test,
                                int num_classes, double start, double fraction);

}  // namespace xb::test
