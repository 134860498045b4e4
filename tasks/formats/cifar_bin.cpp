// CIFAR-10 binary batches; see cifar_bin.h.
#include "tasks/formats/cifar_bin.h"

#include <fmt/format.h>

#include "core/errors.h"
#include "core/file_io.h"
#include "tasks/generated.h"

namespace xb {

uint8_t cifar_gray(uint8_t r, uint8_t g, uint8_t b) {
    // float32 throughout, in the order TF computes it (convert_image_dtype, tensordot, convert).
    const float scale = 1.0f / 255.0f;
    float gray =
        float(r) * scale * 0.2989f + float(g) * scale * 0.5870f + float(b) * scale * 0.1140f;
    float scaled = gray * 255.5f;
    if (scaled < 0) scaled = 0;
    if (scaled > 255) scaled = 255;
    return uint8_t(scaled);
}

std::vector<Example> read_cifar_batch(const std::string& path) {
    const std::string bytes = read_file_bytes(path);
    if (bytes.empty()) throw DataError(fmt::format("{}: empty file (no CIFAR records)", path));
    if (bytes.size() % kCifarRecordBytes != 0)
        throw DataError(fmt::format(
            "{}: truncated: {} bytes is not a whole number of {}-byte records (record {} is cut "
            "after {} bytes)",
            path, bytes.size(), kCifarRecordBytes, bytes.size() / kCifarRecordBytes,
            bytes.size() % kCifarRecordBytes));
    const size_t n = bytes.size() / kCifarRecordBytes;
    std::vector<Example> out(n);
    for (size_t i = 0; i < n; ++i) {
        const auto* rec = reinterpret_cast<const uint8_t*>(bytes.data()) + i * kCifarRecordBytes;
        if (rec[0] > 9)
            throw DataError(
                fmt::format("{}: record {}: label byte {} is not 0-9", path, i, int(rec[0])));
        out[i].label = rec[0];
        out[i].tokens.resize(kCifarPixels);
        for (int p = 0; p < kCifarPixels; ++p)
            out[i].tokens[size_t(p)] = int32_t(cifar_gray(rec[1 + p], rec[1 + kCifarPixels + p],
                                                          rec[1 + 2 * kCifarPixels + p])) +
                                       1;
    }
    return out;
}

void write_cifar_batch(const std::string& path, const std::vector<Example>& examples, size_t begin,
                       size_t end) {
    std::string bytes;
    bytes.reserve((end - begin) * kCifarRecordBytes);
    for (size_t i = begin; i < end; ++i) {
        const Example& ex = examples[i];
        if (ex.tokens.size() != size_t(kCifarPixels) || ex.label < 0 || ex.label > 9)
            throw DataError(fmt::format(
                "{}: example {} has {} tokens and label {} (expected 1024 tokens, label 0-9)", path,
                i, ex.tokens.size(), ex.label));
        std::vector<uint8_t> gray = tokens_to_pixels(ex.tokens);
        bytes += char(ex.label);
        for (int c = 0; c < 3; ++c) bytes.append(gray.begin(), gray.end());
    }
    write_file_atomic(path, bytes);
}

}  // namespace xb
