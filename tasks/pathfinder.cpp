// Pathfinder and Path-X (LRA): is there a path between the two circular markers? 2 classes,
// side x side 8-bit grayscale images read as side^2 pixel tokens (id = value + 1, so black is
// not padding; vocab 257). `pathfinder` is 32x32 (1024 tokens), `pathx` 128x128 (16,384 tokens).
// Generated construction: see pathfinder_render.h. Connectivity is a property of a whole curve
// that winds across the image; a fixed 10% window (a few rows) sees at most pieces of paths and
// perhaps one marker, which does not say whether the markers are joined.
// Loading: the LRA layout (metadata/*.npy text lines + PNGs) of one difficulty folder, e.g.
// pathfinder32/curv_contour_length_14; like LRA, the listed images are split 80% / 10% / 10% into
// train / val / test in metadata order, and n_* are ignored when loading.
#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "config/option_reader.h"
#include "core/errors.h"
#include "tasks/formats/pathfinder_dir.h"
#include "tasks/generated.h"
#include "tasks/pathfinder_render.h"
#include "tasks/task.h"

namespace xb {

namespace {

constexpr uint64_t kPathfinderStream = 0x5061746846696e64ULL;  // "PathFind"

PathfinderGeometry read_geometry(const nlohmann::json& options, PathfinderGeometry g) {
    OptionReader r(options, "task.options");
    g.side = r.get_int("side", g.side);
    g.contour_length = r.get_int("contour_length", g.contour_length);
    g.paddle_length = r.get_double("paddle_length", g.paddle_length);
    g.min_gap = r.get_double("min_gap", g.min_gap);
    g.max_gap = r.get_double("max_gap", g.max_gap);
    g.thickness = r.get_double("thickness", g.thickness);
    g.max_turn = r.get_double("max_turn", g.max_turn);
    g.distractors = r.get_int("distractors", g.distractors);
    g.distractor_length = r.get_int("distractor_length", g.distractor_length);
    g.marker_radius = r.get_double("marker_radius", g.marker_radius);
    g.clearance = r.get_double("clearance", g.clearance);
    g.intensity = r.get_int("intensity", g.intensity);
    g.match_distance = r.get_bool("match_distance", g.match_distance);
    r.finish();
    auto need = [](bool ok, const std::string& msg) {
        if (!ok) throw ConfigError("task.options." + msg);
    };
    need(g.side >= 8 && g.side <= 512,
         fmt::format("side: must be in [8, 512] pixels, got {}", g.side));
    need(g.contour_length >= 1 && g.contour_length <= 1000,
         fmt::format("contour_length: must be in [1, 1000], got {}", g.contour_length));
    need(g.paddle_length > 0 && g.paddle_length < g.side / 2.0,
         fmt::format("paddle_length: must be in (0, {}), got {}", g.side / 2.0, g.paddle_length));
    need(g.min_gap >= 0 && g.max_gap >= g.min_gap,
         fmt::format("min_gap/max_gap: need 0 <= min_gap <= max_gap, got {} and {}", g.min_gap,
                     g.max_gap));
    need(g.thickness > 0 && g.thickness <= 8,
         fmt::format("thickness: must be in (0, 8], got {}", g.thickness));
    need(g.max_turn >= 0 && g.max_turn <= 180,
         fmt::format("max_turn: must be in [0, 180] degrees, got {}", g.max_turn));
    need(g.distractors >= 0 && g.distractors <= 1000,
         fmt::format("distractors: must be in [0, 1000], got {}", g.distractors));
    need(g.distractor_length >= 1,
         fmt::format("distractor_length: must be >= 1, got {}", g.distractor_length));
    need(g.marker_radius > 0 && g.marker_radius < g.side / 4.0,
         fmt::format("marker_radius: must be in (0, {}), got {}", g.side / 4.0, g.marker_radius));
    need(g.clearance >= 0, fmt::format("clearance: must be >= 0, got {}", g.clearance));
    need(g.intensity >= 1 && g.intensity <= 255,
         fmt::format("intensity: must be in [1, 255], got {}", g.intensity));
    return g;
}

// LRA's split of one folder: [:80%], [80%:90%], [90%:].
size_t train_end(size_t n) { return (8 * n + 5) / 10; }
size_t val_end(size_t n) { return (9 * n + 5) / 10; }

class PathfinderTask : public Task {
  public:
    PathfinderTask(const char* name, PathfinderGeometry g) : name_(name), g_(g) {}
    int num_classes() const override { return 2; }
    int vocab_size() const override { return kByteVocabSize; }
    Dataset generate(const TaskConfig& cfg, uint64_t seed) const override {
        const int pixels = g_.side * g_.side;
        if (cfg.max_len < pixels)
            throw ConfigError(
                fmt::format("task.max_len: {} is shorter than a {}x{} image ({} "
                            "pixels); set task.max_len={}",
                            cfg.max_len, g_.side, g_.side, pixels, pixels));
        // One probe image tells a too-crowded geometry apart before thousands are attempted.
        Rng probe(seed, kPathfinderStream ^ 0x70726f6265ULL);
        if (render_pathfinder(probe, g_, 1, 2000).pixels.empty())
            throw ConfigError(fmt::format(
                "task.options: no layout found for the {} geometry (snakes too long or too many "
                "distractors for a {}x{} image)",
                name_, g_.side, g_.side));
        const PathfinderGeometry g = g_;
        return generate_balanced_splits(cfg, seed, kPathfinderStream + uint64_t(g.side), 2,
                                        [g](Rng& rng, int32_t label) {
                                            Example ex;
                                            PathfinderImage image;
                                            while (image.pixels.empty())
                                                image = render_pathfinder(rng, g, label);
                                            ex.tokens = pixels_to_tokens(image.pixels);
                                            ex.label = label;
                                            return ex;
                                        });
    }
    Dataset load(const TaskConfig& cfg) const override {
        std::vector<Example> all = read_pathfinder_dir(cfg.data_dir, g_.side);
        const size_t n = all.size(), a = train_end(n), b = val_end(n);
        Dataset d;
        d.train.assign(all.begin(), all.begin() + std::ptrdiff_t(a));
        d.val.assign(all.begin() + std::ptrdiff_t(a), all.begin() + std::ptrdiff_t(b));
        d.test.assign(all.begin() + std::ptrdiff_t(b), all.end());
        truncate_dataset(d, cfg.max_len);
        return d;
    }
    void write(const Dataset& data, const std::string& dir) const override {
        const size_t n = data.train.size() + data.val.size() + data.test.size();
        if (data.train.size() != train_end(n) || data.train.size() + data.val.size() != val_end(n))
            throw ConfigError(fmt::format(
                "data {}: the Pathfinder layout has no split files; the loader splits the images "
                "80/10/10 like LRA, so n_train/n_val/n_test must be {}/{}/{} for {} images (got "
                "{}/{}/{})",
                name_, train_end(n), val_end(n) - train_end(n), n - val_end(n), n,
                data.train.size(), data.val.size(), data.test.size()));
        std::vector<Example> all = data.train;
        all.insert(all.end(), data.val.begin(), data.val.end());
        all.insert(all.end(), data.test.begin(), data.test.end());
        write_pathfinder_dir(dir, all, g_.side);
    }
    std::string preview(const Example& ex) const override {
        return fmt::format("[{}]\n{}", ex.label ? "connected" : "not connected",
                           ascii_image(ex.tokens, g_.side, std::max(1, g_.side / 32)));
    }

  private:
    const char* name_;
    PathfinderGeometry g_;
};

}  // namespace

std::unique_ptr<Task> make_pathfinder_task(const TaskConfig& cfg) {
    PathfinderGeometry g;  // 32x32 defaults: LRA's "hard" curv_contour_length_14
    return std::make_unique<PathfinderTask>("pathfinder", read_geometry(cfg.options, g));
}

std::unique_ptr<Task> make_pathx_task(const TaskConfig& cfg) {
    PathfinderGeometry g;
    g.side = 128;
    g.paddle_length = 5;
    g.min_gap = 2;  // LRA's pathfinder128: paddle_margin [2, 3], marker_radius 3
    g.max_gap = 3;
    g.thickness = 1.5;
    g.distractors = 7;  // 35 / (14 / 3)
    g.distractor_length = 4;
    g.marker_radius = 3;
    return std::make_unique<PathfinderTask>("pathx", read_geometry(cfg.options, g));
}

}  // namespace xb
