// Procedural Pathfinder rendering; see pathfinder_render.h.
#include "tasks/pathfinder_render.h"

#include <algorithm>
#include <cmath>

namespace xb {

namespace {

struct Point {
    double x, y;
};
struct Segment {
    Point a, b;
};

double distance(Point a, Point b) { return std::hypot(a.x - b.x, a.y - b.y); }

double segment_distance(Point p, const Segment& s) {
    double dx = s.b.x - s.a.x, dy = s.b.y - s.a.y;
    double len2 = dx * dx + dy * dy;
    double t =
        len2 > 0 ? std::clamp(((p.x - s.a.x) * dx + (p.y - s.a.y) * dy) / len2, 0.0, 1.0) : 0;
    double ex = s.a.x + t * dx - p.x, ey = s.a.y + t * dy - p.y;
    return std::sqrt(ex * ex + ey * ey);
}

// Occupancy at pixel resolution: which snake (1-based) claims each pixel, 0 = free.
class Canvas {
  public:
    explicit Canvas(const PathfinderGeometry& g) : g_(g), owner_(size_t(g.side * g.side), 0) {}

    bool inside(Point p) const {
        const double border = g_.thickness + 0.5;
        return p.x >= border && p.y >= border && p.x <= g_.side - border && p.y <= g_.side - border;
    }
    // True when a disc of radius r around any point of s touches a pixel owned by another snake.
    bool blocked(const Segment& s, double r, int self) const {
        int x0, x1, y0, y1;
        bounds(s, r, x0, x1, y0, y1);
        for (int y = y0; y <= y1; ++y)
            for (int x = x0; x <= x1; ++x) {
                int o = owner_[size_t(y * g_.side + x)];
                if (o != 0 && o != self && segment_distance({x + 0.5, y + 0.5}, s) <= r)
                    return true;
            }
        return false;
    }
    void claim(const Segment& s, double r, int id) {
        int x0, x1, y0, y1;
        bounds(s, r, x0, x1, y0, y1);
        for (int y = y0; y <= y1; ++y)
            for (int x = x0; x <= x1; ++x)
                if (segment_distance({x + 0.5, y + 0.5}, s) <= r)
                    owner_[size_t(y * g_.side + x)] = id;
    }

  private:
    void bounds(const Segment& s, double r, int& x0, int& x1, int& y0, int& y1) const {
        x0 = std::max(0, int(std::floor(std::min(s.a.x, s.b.x) - r)));
        x1 = std::min(g_.side - 1, int(std::floor(std::max(s.a.x, s.b.x) + r)));
        y0 = std::max(0, int(std::floor(std::min(s.a.y, s.b.y) - r)));
        y1 = std::min(g_.side - 1, int(std::floor(std::max(s.a.y, s.b.y) + r)));
    }
    const PathfinderGeometry& g_;
    std::vector<int> owner_;
};

constexpr double kPi = 3.14159265358979323846;

// Grows one snake of n paddles that avoids other snakes and itself; claims its pixels on success.
// Each attempt starts at a uniform point of the image, or with `around` at a uniform angle and
// distance `radius` from *around.
bool grow_snake(Rng& rng, const PathfinderGeometry& g, Canvas& canvas, int id, int n,
                std::vector<Segment>& out, const Point* around = nullptr, double radius = 0) {
    const double turn = g.max_turn * kPi / 180.0;
    const double reach = g.thickness + g.clearance;  // centre-line distance to other snakes
    for (int attempt = 0; attempt < 40; ++attempt) {
        out.clear();
        Point p{g.thickness + rng.uniform() * (g.side - 2 * g.thickness),
                g.thickness + rng.uniform() * (g.side - 2 * g.thickness)};
        if (around) {
            const double phi = rng.uniform() * 2 * kPi;
            p = {around->x + radius * std::cos(phi), around->y + radius * std::sin(phi)};
        }
        double theta = rng.uniform() * 2 * kPi;
        bool ok = canvas.inside(p);
        for (int k = 0; ok && k < n; ++k) {
            bool placed = false;
            for (int t = 0; t < 12 && !placed; ++t) {
                double th = theta + (2 * rng.uniform() - 1) * turn;
                Segment s{
                    p,
                    {p.x + g.paddle_length * std::cos(th), p.y + g.paddle_length * std::sin(th)}};
                if (!canvas.inside(s.b) || canvas.blocked(s, reach, id)) continue;
                // Not onto its own earlier paddles (the previous one is adjacent by design).
                bool self_hit = false;
                for (size_t j = 0; j + 1 < out.size() && !self_hit; ++j)
                    self_hit = segment_distance(s.a, out[j]) < reach ||
                               segment_distance(s.b, out[j]) < reach;
                if (self_hit) continue;
                out.push_back(s);
                theta = th;
                double gap = g.min_gap + rng.uniform() * (g.max_gap - g.min_gap);
                p = {s.b.x + gap * std::cos(th), s.b.y + gap * std::sin(th)};
                placed = true;
            }
            ok = placed && (k + 1 == n || canvas.inside(p));
        }
        if (ok) {
            for (const auto& s : out) canvas.claim(s, g.thickness / 2 + 0.5, id);
            return true;
        }
    }
    return false;
}

}  // namespace

PathfinderImage render_pathfinder(Rng& rng, const PathfinderGeometry& g, int label, int max_tries) {
    for (int attempt = 0; attempt < max_tries; ++attempt) {
        Canvas canvas(g);
        std::vector<std::vector<Segment>> snakes(2);
        if (!grow_snake(rng, g, canvas, 1, g.contour_length, snakes[0])) continue;
        const Point own[2] = {snakes[0].front().a, snakes[0].back().b};
        // match_distance: the first marker goes on snake 1's start, snake 2 starts as far from it
        // as snake 1's other end is, and a negative's second marker goes on that start. A fixed
        // end for the first marker keeps the two labels' marker positions alike: with a random
        // one, a centroid labeler on the middle rows of a 16x16 image was right on 56% of them.
        // (Otherwise the draws keep the order they had before the option existed, so default
        // datasets are unchanged.)
        int e1 = 0, e2 = 0;
        if (!grow_snake(rng, g, canvas, 2, g.contour_length, snakes[1],
                        g.match_distance ? &own[e1] : nullptr, distance(own[0], own[1])))
            continue;
        if (!g.match_distance) {
            e1 = int(rng.uniform_int(0, 1));
            e2 = int(rng.uniform_int(0, 1));
        }
        // Markers: both ends of snake 1 (positive) or one end of each long snake (negative).
        const Point other[2] = {snakes[1].front().a, snakes[1].back().b};
        Point markers[2] = {own[e1], label ? own[1 - e1] : other[e2]};
        const double marker_distance = distance(markers[0], markers[1]);
        int marker_owner[2] = {1, label ? 1 : 2};
        // A marker must not touch the other long snake. With match_distance, neither may a
        // marker of the other label, so that the layouts of the two labels stay alike.
        const double marker_reach = g.marker_radius + g.thickness / 2 + g.clearance;
        bool clear = true;
        for (int m = 0; m < 2 && clear; ++m)
            clear = !canvas.blocked({markers[m], markers[m]}, marker_reach, marker_owner[m]);
        if (g.match_distance && clear)
            clear = !canvas.blocked({own[1 - e1], own[1 - e1]}, marker_reach, 1) &&
                    !canvas.blocked({other[0], other[0]}, marker_reach, 2);
        if (!clear) continue;
        for (int m = 0; m < 2; ++m)
            canvas.claim({markers[m], markers[m]}, g.marker_radius + 0.5, marker_owner[m]);
        for (int d = 0; d < g.distractors; ++d) {
            std::vector<Segment> s;
            if (grow_snake(rng, g, canvas, 3 + d, g.distractor_length, s)) snakes.push_back(s);
        }

        // Anti-aliased drawing: coverage falls off linearly over one pixel at the edges.
        std::vector<float> cover(size_t(g.side * g.side), 0.0f);
        auto draw = [&](const Segment& s, double radius) {
            int x0 = std::max(0, int(std::floor(std::min(s.a.x, s.b.x) - radius - 1)));
            int x1 = std::min(g.side - 1, int(std::ceil(std::max(s.a.x, s.b.x) + radius + 1)));
            int y0 = std::max(0, int(std::floor(std::min(s.a.y, s.b.y) - radius - 1)));
            int y1 = std::min(g.side - 1, int(std::ceil(std::max(s.a.y, s.b.y) + radius + 1)));
            for (int y = y0; y <= y1; ++y)
                for (int x = x0; x <= x1; ++x) {
                    double c = std::clamp(radius + 0.5 - segment_distance({x + 0.5, y + 0.5}, s),
                                          0.0, 1.0);
                    float& v = cover[size_t(y * g.side + x)];
                    v = std::max(v, float(c));
                }
        };
        for (const auto& snake : snakes)
            for (const auto& s : snake) draw(s, g.thickness / 2);
        for (const auto& m : markers) draw({m, m}, g.marker_radius);
        std::vector<uint8_t> px(cover.size());
        for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t(std::lround(cover[i] * g.intensity));
        return {std::move(px), marker_distance};
    }
    return {};
}

}  // namespace xb
