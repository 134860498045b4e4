// Procedural Pathfinder images in the spirit of Linsley et al.'s generator (used by LRA): dashed
// curvy "snakes" made of short straight paddles separated by gaps, each paddle turning by at most
// max_turn degrees from the previous one, plus two circular markers. Two long snakes of
// contour_length paddles and `distractors` short snakes of distractor_length paddles are placed
// without touching one another (at least `clearance` pixels apart). Positive: the markers sit on
// both ends of one long snake. Negative: one marker on an end of each long snake. Both classes
// draw the same snakes the same way; only the marker placement differs.
#pragma once
#include <cstdint>
#include <vector>

#include "core/rng.h"

namespace xb {

struct PathfinderGeometry {
    int side = 32;               // image is side x side pixels
    int contour_length = 14;     // paddles per long snake
    double paddle_length = 2.0;  // pixels
    double min_gap = 1.0;        // gap between paddles, drawn per gap from [min_gap, max_gap]
    double max_gap = 1.0;
    double thickness = 1.0;  // line width in pixels
    double max_turn = 30;    // degrees between consecutive paddles
    int distractors = 5;
    int distractor_length = 4;
    double marker_radius = 1.5;
    double clearance = 1.0;  // empty pixels kept between different snakes and markers
    int intensity = 255;     // brightest path value on a black background
    // When set, both classes draw the distance between the markers from the same distribution
    // (that of positive layouts), so it says nothing about the label; see the generator.
    bool match_distance = false;
};

// Pixels of one image and the distance between the centres of its two markers.
struct PathfinderImage {
    std::vector<uint8_t> pixels;  // side * side bytes, row-major; empty if no layout was found
    double marker_distance = 0;
};

// Markers of a layout count as `target_distance` apart when within this many pixels of it.
constexpr double kMarkerDistanceTolerance = 0.1;

// Renders one image with the given label (1 = connected). Retries internally until a valid layout
// is found; returns empty pixels if none was found in `max_tries` layouts (the geometry is too
// crowded). With target_distance >= 0, a layout is valid only if its markers are within
// kMarkerDistanceTolerance of that distance, and a negative puts its markers on the pair of
// ends (one per snake) closest to it.
PathfinderImage render_pathfinder(Rng& rng, const PathfinderGeometry& g, int label,
                                  int max_tries = 200, double target_distance = -1);

// One example of a generated dataset: retries until a layout is found. With match_distance, the
// target distance is first drawn as the marker distance of a fresh positive layout (for either
// label), so both classes share that distribution; a target that this label's layouts do not meet
// within the tries is replaced by a new draw. Loops forever on a geometry with no layout at all
// (the task checks one probe layout first).
PathfinderImage render_pathfinder_example(Rng& rng, const PathfinderGeometry& g, int label);

}  // namespace xb
