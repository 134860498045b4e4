// Table rendering; see table_format.h.
#include "report/table_format.h"

#include <fmt/format.h>

namespace xb {

namespace {

const char* kMissingMd = "–";

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

// Every character LaTeX treats specially in text mode, so a label prints as written.
std::string latex_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '_' || c == '%' || c == '&' || c == '#' || c == '$' || c == '{' || c == '}')
            out += std::string("\\") + c;
        else if (c == '\\')
            out += "\\textbackslash{}";
        else if (c == '~')
            out += "\\textasciitilde{}";
        else if (c == '^')
            out += "\\textasciicircum{}";
        else
            out += c;
    }
    return out;
}

bool has_ratios(const Table& t) { return t.kind == "efficiency"; }

}  // namespace

std::string cell_text(const TableCell& c, int decimals, const char* plus_minus, const char* times) {
    if (!c.value) return c.status.empty() ? "missing" : c.status;
    std::string s = fmt::format("{:.{}f}", *c.value, decimals);
    if (c.std) s += fmt::format(" {} {:.{}f}", plus_minus, *c.std, decimals);
    if (c.ratio) s += fmt::format(" ({:.2f}{})", *c.ratio, times);
    return s;
}

std::string html_escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '&':
                out += "&amp;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string table_markdown(const Table& t) {
    std::string out = fmt::format("### {}\n\n", t.title);
    if (!t.measured_on.empty()) out += fmt::format("Measured on {}.\n\n", t.measured_on);
    out += "| variant |";
    std::string rule = "|---|";
    for (const auto& c : t.columns) {
        out += fmt::format(" {} |", c.name);
        rule += "---:|";
    }
    out += "\n" + rule + "\n";
    for (const auto& r : t.rows) {
        out += fmt::format("| {} |", r.label);
        for (size_t i = 0; i < r.cells.size(); ++i) {
            const TableCell& c = r.cells[i];
            std::string text =
                c.value || c.status != "missing" ? cell_text(c, t.columns[i].decimals) : kMissingMd;
            out += c.best ? fmt::format(" **{}** |", text) : fmt::format(" {} |", text);
        }
        out += "\n";
    }
    out += t.rows.empty() ? "\n(no results)\n" : "\n";
    if (t.kind == "accuracy") out += "Best per column in bold; – = no run.\n";
    for (const auto& n : t.notes) out += n + "\n";
    return out;
}

std::string table_csv(const Table& t) {
    std::string out = "variant";
    for (const auto& c : t.columns) {
        out += "," + csv_field(c.name) + "," + csv_field(c.name + " std") + "," +
               csv_field(c.name + " n");
        if (has_ratios(t)) out += "," + csv_field(c.name + " ratio");
    }
    out += "\n";
    for (const auto& r : t.rows) {
        out += csv_field(r.label);
        for (size_t i = 0; i < r.cells.size(); ++i) {
            const TableCell& c = r.cells[i];
            const int d = t.columns[i].decimals;
            out += "," + (c.value ? fmt::format("{:.{}f}", *c.value, d) : c.status);
            out += "," + (c.std ? fmt::format("{:.{}f}", *c.std, d) : std::string());
            out += "," + (c.value ? std::to_string(c.n) : std::string());
            if (has_ratios(t)) out += "," + (c.ratio ? fmt::format("{:.3f}", *c.ratio) : "");
        }
        out += "\n";
    }
    return out;
}

std::string table_latex(const Table& t) {
    std::string out = "% " + t.title + " (xformer-bench compare)\n";
    if (!t.measured_on.empty()) out += "% Measured on " + t.measured_on + ".\n";
    out += "% requires \\usepackage{booktabs}\n\\begin{tabular}{l" +
           std::string(t.columns.size(), 'r') + "}\n\\toprule\nVariant";
    for (const auto& c : t.columns) out += " & " + latex_escape(c.name);
    out += " \\\\\n\\midrule\n";
    for (const auto& r : t.rows) {
        out += latex_escape(r.label);
        for (size_t i = 0; i < r.cells.size(); ++i) {
            const TableCell& c = r.cells[i];
            std::string text = c.value || c.status != "missing"
                                   ? cell_text(c, t.columns[i].decimals, "$\\pm$", "$\\times$")
                                   : "--";
            out += " & " + (c.best ? "\\textbf{" + text + "}" : text);
        }
        out += " \\\\\n";
    }
    out += "\\bottomrule\n\\end{tabular}\n";
    for (const auto& n : t.notes) out += "% " + n + "\n";
    return out;
}

nlohmann::json table_json(const Table& t) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : t.rows) {
        nlohmann::json cells = nlohmann::json::object();
        for (size_t i = 0; i < r.cells.size(); ++i) {
            const TableCell& c = r.cells[i];
            nlohmann::json cell = {{"value", c.value ? nlohmann::json(*c.value) : nullptr},
                                   {"n", c.n}};
            if (c.std) cell["std"] = *c.std;
            if (c.ratio) cell["ratio"] = *c.ratio;
            if (!c.value) cell["status"] = c.status;
            if (c.best) cell["best"] = true;
            cells[t.columns[i].name] = cell;
        }
        rows.push_back({{"label", r.label}, {"cells", cells}});
    }
    nlohmann::json columns = nlohmann::json::array();
    for (const auto& c : t.columns) columns.push_back(c.name);
    return {{"table", t.kind},    {"title", t.title}, {"measured_on", t.measured_on},
            {"columns", columns}, {"rows", rows},     {"notes", t.notes}};
}

std::string table_html(const Table& t) {
    std::string out =
        fmt::format("<table class=\"{}\">\n<caption>{}</caption>\n<thead><tr><th>variant</th>",
                    t.kind, html_escape(t.title));
    for (const auto& c : t.columns) out += "<th>" + html_escape(c.name) + "</th>";
    out += "</tr></thead>\n<tbody>\n";
    for (const auto& r : t.rows) {
        out += "<tr><th>" + html_escape(r.label) + "</th>";
        for (size_t i = 0; i < r.cells.size(); ++i) {
            const TableCell& c = r.cells[i];
            std::string cls = c.best ? "best" : (c.value ? "" : "none");
            std::string text =
                c.value || c.status != "missing" ? cell_text(c, t.columns[i].decimals) : "–";
            out +=
                (cls.empty() ? "<td>" : "<td class=\"" + cls + "\">") + html_escape(text) + "</td>";
        }
        out += "</tr>\n";
    }
    out += "</tbody>\n</table>\n";
    if (!t.measured_on.empty())
        out += "<p class=\"note\">Measured on " + html_escape(t.measured_on) + ".</p>\n";
    for (const auto& n : t.notes) out += "<p class=\"note\">" + html_escape(n) + "</p>\n";
    return out;
}

}  // namespace xb
