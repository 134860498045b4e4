// Image (LRA CIFAR-10): 10-class classification of a 32x32 8-bit grayscale image read as a
// sequence of 1024 pixel tokens (id = intensity + 1, so no pixel is padding; vocab 257).
// Generated construction: one of 10 shape/texture classes (disk, ring, square, square outline,
// triangle, plus, striped disk, checkered square, two dots, bar) drawn with 4x4 supersampling at a
// random position, scale, rotation, foreground/background intensity (contrast at least
// min_contrast; option polarity: any, light = shape brighter, dark) plus Gaussian pixel noise.
// The class is a 2-D property: in the 1-D sequence, pixels that are vertical neighbours lie 32
// tokens apart, and a fixed 10% window (about 3 rows) sees at most a slice of the shape.
//
// Loading: CIFAR-10 binary batches converted to grayscale as LRA does; train = the first 90% of
// data_batch_1..5 (45,000), val = the last 10% (5,000), test = test_batch.bin (10,000); n_* are
// ignored when loading.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <memory>

#include "config/option_reader.h"
#include "core/errors.h"
#include "core/file_io.h"
#include "tasks/formats/cifar_bin.h"
#include "tasks/generated.h"
#include "tasks/task.h"

namespace xb {

namespace {

namespace fs = std::filesystem;

constexpr uint64_t kImageStream = 0x496d616765734b31ULL;  // "ImagesK1"
constexpr int kNumBatches = 5;

const char* const kClassNames[10] = {"disk",     "ring", "square",       "square outline",
                                     "triangle", "plus", "striped disk", "checkered square",
                                     "two dots", "bar"};

struct ImageOptions {
    double min_radius = 6;  // shape radius in pixels
    double max_radius = 13;
    int min_contrast = 64;  // |foreground - background|
    double max_noise = 12;  // noise standard deviation drawn from [0, max_noise]
    enum class Polarity { any, light, dark } polarity = Polarity::any;  // light: shape brighter
};

ImageOptions read_options(const nlohmann::json& options) {
    OptionReader r(options, "task.options");
    ImageOptions o;
    o.min_radius = r.get_double("min_radius", o.min_radius);
    o.max_radius = r.get_double("max_radius", o.max_radius);
    o.min_contrast = r.get_int("min_contrast", o.min_contrast);
    o.max_noise = r.get_double("max_noise", o.max_noise);
    const std::string polarity = r.get_choice("polarity", "any", {"any", "light", "dark"});
    o.polarity = polarity == "light"  ? ImageOptions::Polarity::light
                 : polarity == "dark" ? ImageOptions::Polarity::dark
                                      : ImageOptions::Polarity::any;
    r.finish();
    if (!(o.min_radius >= 2 && o.min_radius <= o.max_radius && o.max_radius <= 15))
        throw ConfigError(fmt::format(
            "task.options.min_radius/max_radius: need 2 <= min_radius <= max_radius <= 15, got "
            "{} and {}",
            o.min_radius, o.max_radius));
    if (o.min_contrast < 1 || o.min_contrast > 255)
        throw ConfigError(
            fmt::format("task.options.min_contrast: must be in [1, 255], got {}", o.min_contrast));
    if (!(o.max_noise >= 0 && o.max_noise <= 128))
        throw ConfigError(
            fmt::format("task.options.max_noise: must be in [0, 128], got {}", o.max_noise));
    return o;
}

// Whether the point (u, v) of the unit shape frame (radius about 1) is inside class k.
bool inside(int k, double u, double v) {
    const double r2 = u * u + v * v, au = std::fabs(u), av = std::fabs(v);
    switch (k) {
        case 0:
            return r2 <= 1.0;
        case 1:
            return r2 <= 1.0 && r2 >= 0.55 * 0.55;
        case 2:
            return au <= 0.8 && av <= 0.8;
        case 3:
            return au <= 0.85 && av <= 0.85 && (au >= 0.45 || av >= 0.45);
        case 4: {  // equilateral triangle inscribed in the unit circle, apex up
            return v >= -0.5 && std::sqrt(3.0) * u + v <= 1.0 && -std::sqrt(3.0) * u + v <= 1.0;
        }
        case 5:
            return (au <= 0.28 && av <= 1.0) || (av <= 0.28 && au <= 1.0);
        case 6:
            return r2 <= 1.0 && std::sin(u * 3.0 * M_PI) > 0;
        case 7:
            return au <= 0.85 && av <= 0.85 &&
                   (int(std::floor(u * 2.4)) + int(std::floor(v * 2.4))) % 2 == 0;
        case 8:
            return (u - 0.6) * (u - 0.6) + v * v <= 0.16 || (u + 0.6) * (u + 0.6) + v * v <= 0.16;
        default:
            return u * u + (v / 0.3) * (v / 0.3) <= 1.0;
    }
}

std::vector<uint8_t> render_shape(Rng& rng, int k, const ImageOptions& o) {
    const double radius = o.min_radius + rng.uniform() * (o.max_radius - o.min_radius);
    const double reach = radius * 1.05;  // keep the whole shape on the canvas
    const double cx = reach + rng.uniform() * (kCifarSide - 2 * reach);
    const double cy = reach + rng.uniform() * (kCifarSide - 2 * reach);
    const double angle = rng.uniform() * 2 * M_PI, ca = std::cos(angle), sa = std::sin(angle);
    // Background among the levels that leave room for the contrast, then the foreground
    // uniformly among the levels at least min_contrast away (no rejection loop: with a contrast
    // above 128, mid-grey backgrounds have no valid foreground).
    const int c = o.min_contrast, side = 256 - c;  // levels in [0, 255 - c] and in [c, 255]
    int bg = int(rng.uniform_int(0, c <= 128 ? 255 : 2 * side - 1));
    if (c > 128 && bg >= side) bg += c - side;
    const int below = std::max(0, bg - c + 1), above = std::max(0, 256 - bg - c);
    const int pick_fg = int(rng.uniform_int(0, below + above - 1));
    int fg = pick_fg < below ? pick_fg : bg + c + (pick_fg - below);
    if ((o.polarity == ImageOptions::Polarity::light && fg < bg) ||
        (o.polarity == ImageOptions::Polarity::dark && fg > bg))
        std::swap(fg, bg);
    const double noise = rng.uniform() * o.max_noise;

    std::vector<uint8_t> px(kCifarPixels);
    for (int y = 0; y < kCifarSide; ++y) {
        for (int x = 0; x < kCifarSide; ++x) {
            int hits = 0;
            for (int sy = 0; sy < 4; ++sy) {
                for (int sx = 0; sx < 4; ++sx) {
                    double dx = x + (sx + 0.5) / 4 - cx, dy = y + (sy + 0.5) / 4 - cy;
                    double u = (ca * dx + sa * dy) / radius, v = (-sa * dx + ca * dy) / radius;
                    hits += inside(k, u, v);
                }
            }
            double value = bg + (fg - bg) * hits / 16.0 + noise * rng.normal();
            px[size_t(y * kCifarSide + x)] = uint8_t(std::lround(std::clamp(value, 0.0, 255.0)));
        }
    }
    return px;
}

class ImageTask : public Task {
  public:
    explicit ImageTask(ImageOptions o) : o_(o) {}
    int num_classes() const override { return 10; }
    int vocab_size() const override { return kByteVocabSize; }
    Dataset generate(const TaskConfig& cfg, uint64_t seed) const override {
        if (cfg.max_len < kCifarPixels)
            throw ConfigError(fmt::format("task.max_len: {} is shorter than an image ({} pixels)",
                                          cfg.max_len, kCifarPixels));
        const ImageOptions o = o_;
        return generate_balanced_splits(cfg, seed, kImageStream, 10, [o](Rng& rng, int32_t label) {
            Example ex;
            ex.tokens = pixels_to_tokens(render_shape(rng, label, o));
            ex.label = label;
            return ex;
        });
    }
    Dataset load(const TaskConfig& cfg) const override;
    void write(const Dataset& data, const std::string& dir) const override;
    std::string preview(const Example& ex) const override;

  private:
    ImageOptions o_;
};

// LRA's split: TFDS train[:90%] and train[90%:] (45,000 and 5,000 of 50,000).
size_t lra_val_count(size_t train_records) { return (train_records + 5) / 10; }

Dataset ImageTask::load(const TaskConfig& cfg) const {
    fs::path root(cfg.data_dir);
    if (fs::is_directory(root / "cifar-10-batches-bin")) root /= "cifar-10-batches-bin";
    require_directory(root.string(), "cifar-10-batches-bin with data_batch_1..5.bin");
    std::vector<Example> all;
    for (int b = 1; b <= kNumBatches; ++b) {
        auto part = read_cifar_batch((root / fmt::format("data_batch_{}.bin", b)).string());
        all.insert(all.end(), std::make_move_iterator(part.begin()),
                   std::make_move_iterator(part.end()));
    }
    Dataset d;
    const size_t n_val = lra_val_count(all.size());
    d.val.assign(std::make_move_iterator(all.end() - std::ptrdiff_t(n_val)),
                 std::make_move_iterator(all.end()));
    all.resize(all.size() - n_val);
    d.train = std::move(all);
    d.test = read_cifar_batch((root / "test_batch.bin").string());
    truncate_dataset(d, cfg.max_len);
    return d;
}

void ImageTask::write(const Dataset& data, const std::string& dir) const {
    const size_t total = data.train.size() + data.val.size();
    if (data.val.size() != lra_val_count(total))
        throw ConfigError(fmt::format(
            "data image: CIFAR files have no validation split; the loader takes the last 10% of "
            "data_batch_1..5 as val, so n_val must be {} for n_train + n_val = {} (got n_val {})",
            lra_val_count(total), total, data.val.size()));
    const fs::path root = fs::path(dir) / "cifar-10-batches-bin";
    make_directory(root.string());
    std::vector<Example> all = data.train;
    all.insert(all.end(), data.val.begin(), data.val.end());
    for (int b = 0; b < kNumBatches; ++b)
        write_cifar_batch((root / fmt::format("data_batch_{}.bin", b + 1)).string(), all,
                          total * size_t(b) / kNumBatches, total * size_t(b + 1) / kNumBatches);
    write_cifar_batch((root / "test_batch.bin").string(), data.test, 0, data.test.size());
}

}  // namespace

std::string ImageTask::preview(const Example& ex) const {
    std::string name = ex.label >= 0 && ex.label < 10 ? kClassNames[ex.label] : "?";
    return fmt::format("class {} ({})\n{}", ex.label, name, ascii_image(ex.tokens, kCifarSide));
}

std::unique_ptr<Task> make_image_task(const TaskConfig& cfg) {
    return std::make_unique<ImageTask>(read_options(cfg.options));
}

}  // namespace xb
