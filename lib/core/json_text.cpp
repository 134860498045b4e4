// Bounded JSON parsing; see json_text.h.
#include "core/json_text.h"

#include "core/errors.h"

namespace xb {

nlohmann::json parse_json(const std::string& text, const std::string& where) {
    using Event = nlohmann::json::parse_event_t;
    auto limit_depth = [&](int depth, Event event, nlohmann::json&) {
        if ((event == Event::object_start || event == Event::array_start) && depth >= kMaxJsonDepth)
            throw ConfigError(
                fmt::format("{}: JSON nested deeper than {} levels", where, kMaxJsonDepth));
        return true;
    };
    try {
        return nlohmann::json::parse(text, limit_depth);
    } catch (const nlohmann::json::out_of_range& e) {  // e.g. "number overflow parsing '1e999'"
        const std::string what = e.what();
        throw ConfigError(fmt::format("{}: {}", where, what.substr(what.find(']') + 2)));
    }
}

}  // namespace xb
