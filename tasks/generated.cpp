// Shared machinery of the generated tasks; see generated.h.
#include "tasks/generated.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "core/errors.h"

namespace xb {

int32_t balanced_label(uint64_t seed, uint64_t stream, int64_t index, int num_classes) {
    const int64_t block = index / num_classes;
    // Fisher-Yates over 0..K-1 from this block's own counter-based stream.
    std::vector<int32_t> perm(static_cast<size_t>(num_classes));
    std::iota(perm.begin(), perm.end(), 0);
    Rng rng(seed, mix64(stream ^ 0x6c6162656cULL) + uint64_t(block));
    for (int i = num_classes - 1; i > 0; --i)
        std::swap(perm[size_t(i)], perm[size_t(rng.uniform_int(0, i))]);
    return perm[size_t(index % num_classes)];
}

void check_generation_sizes(const TaskConfig& cfg) {
    if (cfg.n_train < 0 || cfg.n_val < 0 || cfg.n_test < 0)
        throw ConfigError(fmt::format("task.n_train/n_val/n_test: must be >= 0, got {}/{}/{}",
                                      cfg.n_train, cfg.n_val, cfg.n_test));
    if (cfg.max_len <= 0)
        throw ConfigError(fmt::format("task.max_len: must be positive, got {}", cfg.max_len));
}

static std::vector<Example> generate_split(int n, uint64_t seed, uint64_t stream, int num_classes,
                                           const ExampleMaker& make) {
    std::vector<Example> out(size_t(std::max(n, 0)));
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < int64_t(out.size()); ++i) {
        Rng rng(seed, mix64(stream) + uint64_t(i));
        out[size_t(i)] = make(rng, balanced_label(seed, stream, i, num_classes));
    }
    return out;
}

Dataset generate_balanced_splits(const TaskConfig& cfg, uint64_t seed, uint64_t stream,
                                 int num_classes, const ExampleMaker& make) {
    check_generation_sizes(cfg);
    auto split_stream = [&](SplitId s) { return mix64(stream + uint64_t(s)); };
    Dataset d;
    d.train = generate_split(cfg.n_train, seed, split_stream(SplitId::kTrain), num_classes, make);
    d.val = generate_split(cfg.n_val, seed, split_stream(SplitId::kVal), num_classes, make);
    d.test = generate_split(cfg.n_test, seed, split_stream(SplitId::kTest), num_classes, make);
    return d;
}

std::vector<int32_t> bytes_to_tokens(const std::string& bytes, int max_len) {
    size_t n = std::min(bytes.size(), size_t(std::max(max_len, 0)));
    std::vector<int32_t> out(n);
    for (size_t i = 0; i < n; ++i) out[i] = int32_t(static_cast<unsigned char>(bytes[i])) + 1;
    return out;
}

std::vector<int32_t> pixels_to_tokens(const std::vector<uint8_t>& pixels) {
    std::vector<int32_t> out(pixels.size());
    for (size_t i = 0; i < pixels.size(); ++i) out[i] = int32_t(pixels[i]) + 1;
    return out;
}

std::string tokens_to_bytes(const std::vector<int32_t>& tokens) {
    std::string out(tokens.size(), '\0');
    for (size_t i = 0; i < tokens.size(); ++i)
        out[i] = char(static_cast<unsigned char>(std::clamp(tokens[i] - 1, 0, 255)));
    return out;
}

std::vector<uint8_t> tokens_to_pixels(const std::vector<int32_t>& tokens) {
    std::vector<uint8_t> out(tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i) out[i] = uint8_t(std::clamp(tokens[i] - 1, 0, 255));
    return out;
}

std::string ascii_image(const std::vector<int32_t>& tokens, int side, int pool) {
    static const char kRamp[] = " .:-=+*#%@";
    std::string out;
    for (int y = 0; y < side; y += pool) {
        for (int x = 0; x < side; x += pool) {
            int v = 0;
            for (int dy = 0; dy < pool && y + dy < side; ++dy)
                for (int dx = 0; dx < pool && x + dx < side; ++dx) {
                    size_t i = size_t((y + dy) * side + x + dx);
                    if (i < tokens.size()) v = std::max(v, std::clamp(tokens[i] - 1, 0, 255));
                }
            out.append(2, kRamp[v * 10 / 256]);
        }
        out += '\n';
    }
    return out;
}

void truncate_dataset(Dataset& data, int max_len) {
    const size_t n = size_t(std::max(max_len, 0));
    for (auto* split : {&data.train, &data.val, &data.test})
        for (auto& ex : *split) {
            if (ex.tokens.size() > n) ex.tokens.resize(n);
            if (ex.tokens2.size() > n) ex.tokens2.resize(n);
        }
}

}  // namespace xb
