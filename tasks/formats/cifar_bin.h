// The CIFAR-10 binary format (cifar-10-batches-bin): files of 3073-byte records, one label byte
// 0-9 then 1024 R, 1024 G and 1024 B bytes of a 32x32 image in row-major order. LRA's image task
// reads CIFAR-10 as grayscale: tf.image.rgb_to_grayscale, i.e. float32 channels c/255, weights
// 0.2989 R + 0.5870 G + 0.1140 B, converted back to uint8 by truncating gray * 255.5.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tasks/task.h"

namespace xb {

constexpr int kCifarSide = 32;
constexpr int kCifarPixels = kCifarSide * kCifarSide;    // 1024 tokens per image
constexpr int kCifarRecordBytes = 1 + 3 * kCifarPixels;  // 3073

// The grayscale value LRA's pipeline gives an RGB pixel.
uint8_t cifar_gray(uint8_t r, uint8_t g, uint8_t b);

// Reads one binary batch file as grayscale examples (tokens = gray + 1). DataError naming the
// file (and record) for a missing file, a size that is not a whole number of records (truncated),
// an empty file, or a label byte above 9.
std::vector<Example> read_cifar_batch(const std::string& path);

// Writes grayscale examples as records whose three channels all equal the gray value (which
// cifar_gray maps back to the same value). DataError if an example is not 1024 tokens or its
// label is not 0-9.
void write_cifar_batch(const std::string& path, const std::vector<Example>& examples, size_t begin,
                       size_t end);

}  // namespace xb
