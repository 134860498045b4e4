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
    // When set, both classes have the same layouts and marker distances: the first marker goes
    // on snake 1's start, snake 2 starts as far from it as snake 1's other end is, and the second
    // marker goes on that other end (positive) or on snake 2's start (negative).
    bool match_distance = false;
};

// Pixels of one image and the distance between the centres of its two markers.
struct PathfinderImage {
    std::vector<uint8_t> pixels;  // side * side bytes, row-major; empty if no layout was found
    double marker_distance = 0;
};

// Renders one image with the given label (1 = connected). Retries internally until a valid layout
// is found; returns empty pixels if none was found in `max_tries` layouts (the geometry is too
// crowded).
PathfinderImage render_pathfinder(Rng& rng, const PathfinderGeometry& g, int label,
                                  int max_tries = 200);

}  // namespace xb
