// AAN pairs TSV reading and writing; see aan_tsv.h.
#include "tasks/formats/aan_tsv.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "core/errors.h"
#include "core/file_io.h"
#include "tasks/generated.h"

namespace xb {

namespace {

Example parse_line(std::string_view line, int max_len) {
    std::vector<std::string_view> cols;
    size_t start = 0;
    while (true) {
        size_t tab = line.find('\t', start);
        cols.push_back(line.substr(start, tab == std::string_view::npos ? tab : tab - start));
        if (tab == std::string_view::npos) break;
        start = tab + 1;
    }
    if (cols.size() != 5)
        throw DataError(
            fmt::format("expected 5 tab-separated columns (label, id1, id2, text1, text2), got {}",
                        cols.size()));
    std::string label_text(cols[0]);
    char* end = nullptr;
    double label = label_text.empty() ? -1 : std::strtod(label_text.c_str(), &end);
    if (label_text.empty() || end != label_text.c_str() + label_text.size())
        throw DataError(fmt::format("label '{}' is not a number", label_text.substr(0, 40)));
    if (label != 0.0 && label != 1.0)
        throw DataError(fmt::format("label {} is not 0 or 1", label_text));
    Example ex;
    ex.label = int32_t(label);
    ex.tokens = bytes_to_tokens(std::string(cols[3]), max_len);
    ex.tokens2 = bytes_to_tokens(std::string(cols[4]), max_len);
    return ex;
}

}  // namespace

std::vector<Example> read_aan_tsv(const std::string& path, int max_len) {
    const std::string bytes = read_file_bytes(path);
    std::vector<Example> out;
    size_t line_no = 0, start = 0;
    while (start < bytes.size()) {
        size_t nl = bytes.find('\n', start);
        if (nl == std::string::npos) nl = bytes.size();
        std::string_view line(bytes.data() + start, nl - start);
        start = nl + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) continue;
        try {
            out.push_back(parse_line(line, max_len));
        } catch (const DataError& e) {
            throw DataError(fmt::format("{}:{}: {}", path, line_no, e.what()));
        }
    }
    if (out.empty()) throw DataError(fmt::format("{}: empty split (no pairs)", path));
    return out;
}

void write_aan_tsv(const std::string& path, const std::vector<Example>& examples,
                   const std::string& id_prefix) {
    std::string out;
    for (size_t i = 0; i < examples.size(); ++i) {
        const Example& ex = examples[i];
        if (ex.label != 0 && ex.label != 1)
            throw DataError(fmt::format("{}: pair {}: label {} is not 0 or 1", path, i, ex.label));
        std::string a = tokens_to_bytes(ex.tokens), b = tokens_to_bytes(ex.tokens2);
        for (const std::string* doc : {&a, &b})
            if (doc->find_first_of("\t\n\r") != std::string::npos)
                throw DataError(fmt::format(
                    "{}: pair {}: a document holds a tab or line break; the AAN TSV format has "
                    "no quoting",
                    path, i));
        out += fmt::format("{}\t{}{}a\t{}{}b\t{}\t{}\n", ex.label ? "1.0" : "0.0", id_prefix, i,
                           id_prefix, i, a, b);
    }
    write_file_atomic(path, out);
}

}  // namespace xb
