// The speed file's JSON form; see speed_report.h.
#include "report/speed_report.h"

namespace xb {

void to_json(nlohmann::json& j, const SpeedReport& r) {
    j = {{"schema", kSpeedSchema},
         {"isolation", r.isolation},
         {"config", r.config},
         {"records", r.records},
         {"environment", r.environment}};
    if (r.baseline) j["baseline"] = *r.baseline;
    if (r.measured) j["measured"] = *r.measured;
}

void from_json(const nlohmann::json& j, SpeedReport& r) {
    const SpeedReport none;
    r.records = j.at("records").get<std::vector<SpeedResult>>();
    r.baseline.reset();
    if (j.contains("baseline")) r.baseline = j.at("baseline").get<std::string>();
    r.isolation = j.value("isolation", none.isolation);
    r.config = j.value("config", none.config);
    r.measured.reset();
    if (j.contains("measured")) r.measured = j.at("measured").get<SpeedMeasured>();
    r.environment = j.value("environment", none.environment);
}

}  // namespace xb
