// Pathfinder's marker-distance matching: without it the distance between the markers tells the
// classes apart (a positive's markers are one snake's length apart); with it, a labeler that
// knows the distance is near chance.
#include <doctest/doctest.h>

#include <array>
#include <map>

#include "tasks/pathfinder_render.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;

namespace {

// The 16x16 geometry of the quick preset: two short solid snakes, no distractor.
PathfinderGeometry small_geometry(bool match) {
    PathfinderGeometry g;
    g.side = 16;
    g.contour_length = 3;
    g.min_gap = g.max_gap = 0;
    g.distractors = 0;
    g.match_distance = match;
    return g;
}

// A labeler that knows each image's marker distance: the majority label of its 0.25-pixel bin
// among 2000 training images, scored on 2000 others.
double distance_labeler_accuracy(bool match) {
    const PathfinderGeometry g = small_geometry(match);
    Rng rng(7, 11);
    auto bin = [](double d) { return int(d / 0.25); };
    std::map<int, std::array<int, 2>> votes;
    int correct = 0;
    for (int i = 0; i < 4000; ++i) {
        const int label = i % 2;
        PathfinderImage image = render_pathfinder(rng, g, label, 2000);
        REQUIRE(image.pixels.size() == size_t(g.side * g.side));
        if (i < 2000) {
            ++votes[bin(image.marker_distance)][size_t(label)];
            continue;
        }
        auto it = votes.find(bin(image.marker_distance));
        const int guess = it == votes.end() ? 0 : int(it->second[1] > it->second[0]);
        correct += guess == label;
    }
    return correct / 2000.0;
}

}  // namespace

TEST_CASE("pathfinder: match_distance leaves the marker distance uninformative") {
    const double plain = distance_labeler_accuracy(false);
    const double matched = distance_labeler_accuracy(true);
    MESSAGE("distance labeler accuracy: plain ", plain, ", matched ", matched);
    CHECK(plain > 0.6);     // the shortcut that matching removes
    CHECK(matched < 0.55);  // chance + 4.5 standard errors at 2000 test images
}

TEST_SUITE_END();
