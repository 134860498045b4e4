// 8-bit grayscale PNG reading and writing through libpng's simplified API (png_image_*). Any PNG
// colour type or bit depth is read and converted to 8-bit gray by libpng (palette expanded,
// alpha composed away, colour to gray with libpng's sRGB weights; 8-bit gray files, the
// Pathfinder format, are read as they are).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace xb {

struct GrayImage {
    int width = 0, height = 0;
    std::vector<uint8_t> pixels;  // row-major, width * height
};

// Reads a PNG that must be width x height. The size is checked from the header before any
// pixel is decoded, so a huge image costs nothing. DataError naming the path when the file is
// missing, is not a PNG, does not decode or has another size.
GrayImage read_png_gray(const std::string& path, int width, int height);

// Writes an 8-bit grayscale PNG atomically (core/file_io.h); IoError on failure.
void write_png_gray(const std::string& path, const GrayImage& image);

}  // namespace xb
