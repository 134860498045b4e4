// Grayscale PNG via libpng's simplified API; see png_gray.h.
#include "tasks/formats/png_gray.h"

#include <fmt/format.h>
#include <png.h>

#include <cstring>

#include "core/errors.h"
#include "core/file_io.h"

namespace xb {

namespace {

png_image blank_image() {
    png_image image;
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    return image;
}

}  // namespace

GrayImage read_png_gray(const std::string& path, int width, int height) {
    // The 8-byte signature first, so that a file that is not a PNG gets a message saying so.
    const std::string head = read_file_bytes(path, 8);
    if (head.size() != 8 || png_sig_cmp(reinterpret_cast<png_const_bytep>(head.data()), 0, 8) != 0)
        throw DataError(fmt::format("{}: not a PNG file (bad signature)", path));
    png_image image = blank_image();
    if (!png_image_begin_read_from_file(&image, path.c_str()))
        throw DataError(fmt::format("{}: PNG does not decode: {}", path, image.message));
    if (image.width != png_uint_32(width) || image.height != png_uint_32(height)) {
        png_image_free(&image);
        throw DataError(fmt::format("{}: image is {}x{}, expected {}x{}", path, image.width,
                                    image.height, width, height));
    }
    image.format = PNG_FORMAT_GRAY;
    GrayImage out{width, height, std::vector<uint8_t>(PNG_IMAGE_SIZE(image))};
    if (!png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr))
        throw DataError(fmt::format("{}: PNG does not decode: {}", path, image.message));
    return out;
}

void write_png_gray(const std::string& path, const GrayImage& gray) {
    png_image image = blank_image();
    image.width = png_uint_32(gray.width);
    image.height = png_uint_32(gray.height);
    image.format = PNG_FORMAT_GRAY;
    png_alloc_size_t size = 0;
    if (!png_image_write_get_memory_size(image, size, 0, gray.pixels.data(), 0, nullptr))
        throw IoError(fmt::format("{}: PNG encoding failed: {}", path, image.message));
    std::string bytes(size, '\0');
    if (!png_image_write_to_memory(&image, bytes.data(), &size, 0, gray.pixels.data(), 0, nullptr))
        throw IoError(fmt::format("{}: PNG encoding failed: {}", path, image.message));
    bytes.resize(size);
    write_file_atomic(path, bytes);
}

}  // namespace xb
