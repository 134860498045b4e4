// Grayscale PNG via libpng; see png_gray.h. libpng reports errors by longjmp, so each libpng
// call sequence sits in a function with no C++ objects needing destruction after setjmp.
#include "tasks/formats/png_gray.h"

#include <fmt/format.h>
#include <png.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/errors.h"
#include "tasks/generated.h"

namespace xb {

namespace {

struct PngError {
    char message[256] = "";
};

void on_png_error(png_structp png, png_const_charp msg) {
    auto* err = static_cast<PngError*>(png_get_error_ptr(png));
    std::snprintf(err->message, sizeof err->message, "%s", msg);
    png_longjmp(png, 1);
}
void on_png_warning(png_structp, png_const_charp) {}

// Returns false with err->message set on failure. rows must point to storage the caller owns.
bool decode(std::FILE* f, GrayImage* out, PngError* err) {
    png_structp png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, err, on_png_error, on_png_warning);
    if (!png) return false;
    png_infop info = png_create_info_struct(png);
    std::vector<png_bytep>* rows = new std::vector<png_bytep>();
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
        delete rows;
        return false;
    }
    png_init_io(png, f);
    png_read_info(png, info);
    png_set_expand(png);
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_byte color = png_get_color_type(png, info);
    if (color == PNG_COLOR_TYPE_RGB || color == PNG_COLOR_TYPE_RGB_ALPHA ||
        color == PNG_COLOR_TYPE_PALETTE)
        png_set_rgb_to_gray_fixed(png, 1, -1, -1);
    png_read_update_info(png, info);
    out->width = int(png_get_image_width(png, info));
    out->height = int(png_get_image_height(png, info));
    if (png_get_channels(png, info) != 1 || png_get_bit_depth(png, info) != 8)
        png_error(png, "unsupported pixel layout after conversion to 8-bit gray");
    out->pixels.assign(size_t(out->width) * size_t(out->height), 0);
    rows->resize(size_t(out->height));
    for (int y = 0; y < out->height; ++y)
        (*rows)[size_t(y)] = out->pixels.data() + size_t(y) * size_t(out->width);
    png_read_image(png, rows->data());
    png_read_end(png, nullptr);
    png_destroy_read_struct(&png, &info, nullptr);
    delete rows;
    return true;
}

bool encode(std::FILE* f, const GrayImage& image, PngError* err) {
    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, err, on_png_error, on_png_warning);
    if (!png) return false;
    png_infop info = png_create_info_struct(png);
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, info ? &info : nullptr);
        return false;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, png_uint_32(image.width), png_uint_32(image.height), 8,
                 PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < image.height; ++y)
        png_write_row(png,
                      const_cast<png_bytep>(image.pixels.data() + size_t(y) * size_t(image.width)));
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    return true;
}

}  // namespace

GrayImage read_png_gray(const std::string& path) {
    require_file(path);
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) throw IoError(fmt::format("{}: cannot open ({})", path, std::strerror(errno)));
    unsigned char sig[8] = {};
    size_t got = std::fread(sig, 1, 8, f);
    if (got != 8 || png_sig_cmp(sig, 0, 8) != 0) {
        std::fclose(f);
        throw DataError(fmt::format("{}: not a PNG file (bad signature)", path));
    }
    std::rewind(f);
    GrayImage image;
    PngError err;
    bool ok = decode(f, &image, &err);
    std::fclose(f);
    if (!ok) throw DataError(fmt::format("{}: PNG does not decode: {}", path, err.message));
    return image;
}

void write_png_gray(const std::string& path, const GrayImage& image) {
    const std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f)
        throw IoError(fmt::format("{}: cannot open for writing ({})", tmp, std::strerror(errno)));
    PngError err;
    bool ok = encode(f, image, &err);
    ok = std::fclose(f) == 0 && ok;
    std::error_code ec;
    if (!ok) {
        std::filesystem::remove(tmp, ec);
        throw IoError(fmt::format("{}: PNG write failed: {}", path, err.message));
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) throw IoError(fmt::format("{}: cannot rename to {}: {}", tmp, path, ec.message()));
}

}  // namespace xb
