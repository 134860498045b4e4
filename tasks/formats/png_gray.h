// 8-bit grayscale PNG reading and writing with libpng. Any PNG colour type or bit depth is read
// and converted to 8-bit gray (palette expanded, 16-bit stripped, alpha dropped, RGB to gray
// with libpng's default weights).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace xb {

struct GrayImage {
    int width = 0, height = 0;
    std::vector<uint8_t> pixels;  // row-major, width * height
};

// DataError naming the path when the file is missing or does not decode as a PNG.
GrayImage read_png_gray(const std::string& path);

// Writes an 8-bit grayscale PNG (via a temporary file and rename); IoError on failure.
void write_png_gray(const std::string& path, const GrayImage& image);

}  // namespace xb
