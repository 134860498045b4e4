// Report fixtures and the XML check; see report_fixtures.h.
#include "support/report_fixtures.h"

#include <fmt/format.h>

#include <vector>

#include "support/run_binary.h"

namespace xb::test {

nlohmann::json fixture_run_report(const FixtureRun& r) {
    nlohmann::json j = {
        {"schema", "xformer-bench/run/1"},
        {"status", r.status},
        {"task", {{"name", r.task}, {"max_len", r.max_len}}},
        {"model", {{"variant", r.variant}}},
        {"seed", r.seed},
        {"config", {{"seed", r.seed}, {"task", {{"name", r.task}}}}},
        {"metrics", {{"test_accuracy", r.accuracy ? nlohmann::json(*r.accuracy) : nullptr}}},
        {"time", {{"step_mean_s", r.step_mean_s}, {"train_tokens_per_s", 1000.0}}},
        {"memory", {{"peak_tensor_bytes", r.peak_tensor_bytes}, {"peak_rss_bytes", 1 << 26}}},
        {"environment", {{"cpu", "Fixture CPU"}, {"threads", 2}}},
    };
    if (!r.label.empty()) j["label"] = r.label;
    return j;
}

std::string write_fixture_run(const std::string& dir, const FixtureRun& r) {
    std::string path = fmt::format("{}/{}__{}__seed{}.json", dir, r.task,
                                   r.label.empty() ? r.variant : r.label, r.seed);
    write_text(path, fixture_run_report(r).dump(2));
    return path;
}

std::string write_fixture_speed(const std::string& path, const std::vector<FixtureSpeed>& recs,
                                const nlohmann::json& environment) {
    nlohmann::json records = nlohmann::json::array();
    for (const auto& s : recs)
        records.push_back({{"variant", s.variant},
                           {"length", s.length},
                           {"batch", 8},
                           {"median_step_s", s.median_step_s},
                           {"tokens_per_s", 8 * s.length / s.median_step_s},
                           {"peak_tensor_bytes", s.peak_tensor_bytes},
                           {"peak_rss_bytes", 2 * s.peak_tensor_bytes}});
    write_text(path, nlohmann::json({{"schema", "xformer-bench/speed/1"},
                                     {"baseline", recs.empty() ? "" : recs[0].variant},
                                     {"records", records},
                                     {"config", nlohmann::json::object()},
                                     {"environment", environment}})
                         .dump(2));
    return path;
}

std::string xml_problem(const std::string& s) {
    std::vector<std::string> open;
    size_t i = 0;
    bool root_seen = false;
    while (i < s.size()) {
        if (s[i] == '&') {
            size_t semi = s.find(';', i);
            std::string e = semi == std::string::npos ? "" : s.substr(i + 1, semi - i - 1);
            if (e != "lt" && e != "gt" && e != "amp" && e != "quot" && e != "apos" &&
                !(e.size() > 1 && e[0] == '#'))
                return fmt::format("bad entity at {}", i);
            i = semi + 1;
            continue;
        }
        if (s[i] != '<') {
            if (open.empty() && !std::isspace(static_cast<unsigned char>(s[i])))
                return fmt::format("text outside the root element at {}", i);
            ++i;
            continue;
        }
        if (s.compare(i, 4, "<!--") == 0) {
            size_t end = s.find("-->", i);
            if (end == std::string::npos) return "unclosed comment";
            i = end + 3;
            continue;
        }
        if (s.compare(i, 2, "<?") == 0) {
            i = s.find("?>", i) + 2;
            continue;
        }
        // A tag: scan to '>' outside quotes.
        size_t j = i + 1;
        char quote = 0;
        for (; j < s.size() && (quote || s[j] != '>'); ++j) {
            if (quote && s[j] == quote)
                quote = 0;
            else if (!quote && (s[j] == '"' || s[j] == '\''))
                quote = s[j];
            else if (!quote && s[j] == '<')
                return fmt::format("'<' inside a tag at {}", j);
        }
        if (j >= s.size()) return fmt::format("unterminated tag at {}", i);
        std::string tag = s.substr(i + 1, j - i - 1);
        if (tag.empty()) return fmt::format("empty tag at {}", i);
        if (tag[0] == '/') {
            std::string name = tag.substr(1, tag.find_first_of(" \t\n") - 1);
            if (open.empty() || open.back() != name)
                return fmt::format("</{}> at {} does not close <{}>", name, i,
                                   open.empty() ? "" : open.back());
            open.pop_back();
        } else {
            bool self_closing = tag.back() == '/';
            std::string name = tag.substr(0, tag.find_first_of(" \t\n/"));
            // Attributes: name="value" pairs.
            size_t k = name.size();
            while (k < tag.size()) {
                while (k < tag.size() &&
                       (std::isspace(static_cast<unsigned char>(tag[k])) || tag[k] == '/'))
                    ++k;
                if (k >= tag.size()) break;
                size_t eq = tag.find('=', k);
                if (eq == std::string::npos || eq + 1 >= tag.size() ||
                    (tag[eq + 1] != '"' && tag[eq + 1] != '\''))
                    return fmt::format("unquoted attribute in <{}> at {}", name, i);
                size_t close = tag.find(tag[eq + 1], eq + 2);
                if (close == std::string::npos) return fmt::format("unclosed attribute at {}", i);
                k = close + 1;
            }
            if (open.empty() && root_seen) return fmt::format("second root element at {}", i);
            root_seen = true;
            if (!self_closing) open.push_back(name);
        }
        i = j + 1;
    }
    if (!open.empty()) return "unclosed <" + open.back() + ">";
    if (!root_seen) return "no root element";
    return "";
}

}  // namespace xb::test
