// LRA ListOps TSV reading and writing, tokenisation and evaluation; see listops_tsv.h.
#include "tasks/formats/listops_tsv.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include "core/check.h"
#include "core/errors.h"
#include "core/file_io.h"

namespace xb {

namespace {

constexpr const char* kHeader = "Source\tTarget";

// Literals, so each view's data() is also a C string.
constexpr std::string_view kTokenText[kListOpsVocabSize] = {
    "<pad>", "0", "1",    "2",    "3",    "4",   "5", "6",    "7",
    "8",     "9", "[MIN", "[MAX", "[MED", "[SM", "]", "<oov>"};

// Whitespace as Python's str.split() sees it in ASCII (the files are ASCII).
bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// A short, printable excerpt of file content for error messages.
std::string excerpt(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 60)) {
        if (c == '\t')
            out += "\\t";
        else if (static_cast<unsigned char>(c) < 0x20)
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        else
            out += c;
    }
    if (s.size() > 60) out += "...";
    return out;
}

int apply_operator(int32_t op, int* args, size_t n) {
    switch (op) {
        case kListOpsMin:
            return *std::min_element(args, args + n);
        case kListOpsMax:
            return *std::max_element(args, args + n);
        case kListOpsSumMod: {
            int sum = 0;
            for (size_t i = 0; i < n; ++i) sum += args[i];
            return sum % 10;
        }
        default: {  // kListOpsMed: np.median, then int(); values are >= 0 so / truncates the same
            std::sort(args, args + n);
            return n % 2 ? args[n / 2] : (args[n / 2 - 1] + args[n / 2]) / 2;
        }
    }
}

// One data line (header and line ending already removed) into an example.
Example parse_line(std::string_view line, int max_len) {
    size_t columns = size_t(std::count(line.begin(), line.end(), '\t')) + 1;
    if (columns != 2)
        throw DataError(
            fmt::format("expected 2 tab-separated columns (Source, Target), got {}: '{}'", columns,
                        excerpt(line)));
    size_t tab = line.find('\t');
    std::string_view source = line.substr(0, tab), target = line.substr(tab + 1);

    Example ex;
    int value = 0;
    auto [end, ec] = std::from_chars(target.data(), target.data() + target.size(), value);
    if (ec == std::errc::result_out_of_range)
        throw DataError(fmt::format("target {} is out of range (expected 0-9)", excerpt(target)));
    if (target.empty() || ec != std::errc() || end != target.data() + target.size())
        throw DataError(fmt::format("target '{}' is not an integer", excerpt(target)));
    if (value < 0 || value >= kListOpsNumClasses)
        throw DataError(fmt::format("target {} is out of range (expected 0-9)", value));
    ex.label = value;

    ex.tokens = tokenize_listops_source(source);
    if (ex.tokens.size() > size_t(max_len)) ex.tokens.resize(size_t(max_len));
    return ex;
}

}  // namespace

const char* listops_token_text(int32_t id) {
    return id >= 0 && id < kListOpsVocabSize ? kTokenText[id].data() : "<bad>";
}

int32_t listops_token_id(std::string_view text) {
    if (text.size() == 1) {
        if (text[0] >= '0' && text[0] <= '9') return kListOpsDigit0 + (text[0] - '0');
        if (text[0] == ']') return kListOpsEnd;
        return -1;
    }
    for (int32_t id = kListOpsMin; id <= kListOpsSumMod; ++id)
        if (text == kTokenText[id]) return id;
    return -1;
}

std::string listops_tree_error(const std::vector<int32_t>& tokens) {
    if (tokens.empty()) return "empty expression";
    // (position, argument count) of each operator whose `]` has not come yet.
    std::vector<std::pair<size_t, int>> open;
    for (size_t i = 0; i < tokens.size(); ++i) {
        int32_t t = tokens[i];
        if (t == kListOpsEnd && open.empty())
            return fmt::format("unbalanced brackets: ']' at token {} closes no operator", i + 1);
        if (open.empty() && i > 0)
            return fmt::format("extra token '{}' at token {} after the end of the expression",
                               listops_token_text(t), i + 1);
        if (is_listops_operator(t)) {
            if (!open.empty()) ++open.back().second;
            open.push_back({i, 0});
        } else if (is_listops_digit(t)) {
            if (!open.empty()) ++open.back().second;
        } else if (t == kListOpsEnd) {
            if (open.back().second == 0)
                return fmt::format("operator '{}' at token {} has no arguments",
                                   listops_token_text(tokens[open.back().first]),
                                   open.back().first + 1);
            open.pop_back();
        } else {
            return fmt::format("token {} has id {} ('{}'), not a digit, operator or ']'", i + 1, t,
                               listops_token_text(t));
        }
    }
    if (!open.empty())
        return fmt::format("unbalanced brackets: {} operator(s) not closed by ']'", open.size());
    return {};
}

int evaluate_listops(const std::vector<int32_t>& tokens) {
    // One pass with cheap structural checks; listops_tree_error explains a failure. Arguments of
    // all open operators are kept flat; each open operator remembers where its own start.
    std::vector<int> values;
    std::vector<std::pair<int32_t, size_t>> frames;
    bool ok = !tokens.empty();
    for (size_t i = 0; ok && i < tokens.size(); ++i) {
        int32_t t = tokens[i];
        if (frames.empty() && i > 0) {
            ok = false;  // a token after the root's end
        } else if (is_listops_operator(t)) {
            frames.push_back({t, values.size()});
        } else if (is_listops_digit(t)) {
            values.push_back(t - kListOpsDigit0);
        } else if (t == kListOpsEnd && !frames.empty() && values.size() > frames.back().second) {
            auto [op, start] = frames.back();
            frames.pop_back();
            int v = apply_operator(op, values.data() + start, values.size() - start);
            values.resize(start);
            values.push_back(v);
        } else {
            ok = false;
        }
    }
    if (!ok || !frames.empty()) throw DataError(listops_tree_error(tokens));
    return values[0];
}

std::vector<int32_t> tokenize_listops_source(std::string_view source) {
    std::vector<int32_t> tokens;
    std::string symbol;  // LRA deletes parentheses before splitting, so `(7` is the symbol `7`
    int depth = 0;
    auto flush = [&] {
        if (symbol.empty()) return;
        int32_t id = listops_token_id(symbol);
        if (id < 0)
            throw DataError(fmt::format("unknown token '{}' (valid: 0-9, [MIN, [MAX, [MED, [SM, ])",
                                        excerpt(symbol)));
        tokens.push_back(id);
        symbol.clear();
    };
    for (size_t i = 0; i < source.size(); ++i) {
        char c = source[i];
        if (c == '(') {
            ++depth;
        } else if (c == ')') {
            if (--depth < 0)
                throw DataError(fmt::format(
                    "unbalanced parentheses: ')' at column {} has no matching '('", i + 1));
        } else if (is_space(c)) {
            flush();
        } else {
            symbol += c;
        }
    }
    flush();
    if (depth > 0) throw DataError(fmt::format("unbalanced parentheses: {} '(' not closed", depth));
    if (tokens.empty()) throw DataError("empty source (no tokens)");
    std::string error = listops_tree_error(tokens);
    if (!error.empty()) throw DataError(error);
    return tokens;
}

std::string listops_tokens_to_source(const std::vector<int32_t>& tokens) {
    std::string error = listops_tree_error(tokens);
    if (!error.empty()) throw DataError(error);
    // An operator with n arguments opens n + 1 tuples, so count each operator's arguments first.
    std::vector<int> num_args(tokens.size(), 0);
    std::vector<size_t> open;
    for (size_t i = 0; i < tokens.size(); ++i) {
        if (tokens[i] != kListOpsEnd && !open.empty()) ++num_args[open.back()];
        if (is_listops_operator(tokens[i])) open.push_back(i);
        if (tokens[i] == kListOpsEnd) open.pop_back();
    }
    // Every argument is written " v )": it closes the tuple that pairs it with what precedes it.
    std::string out;
    out.reserve(tokens.size() * 5);
    size_t depth = 0;  // open operators
    for (size_t i = 0; i < tokens.size(); ++i) {
        int32_t t = tokens[i];
        if (t == kListOpsEnd) {
            out += " ] )";
            if (--depth > 0) out += " )";
            continue;
        }
        if (depth > 0) out += ' ';
        if (is_listops_operator(t)) {
            for (int k = 0; k <= num_args[i]; ++k) out += "( ";
            out += kTokenText[t];
            ++depth;
        } else {
            out += kTokenText[t];
            if (depth > 0) out += " )";
        }
    }
    return out;
}

std::string listops_tokens_to_text(const std::vector<int32_t>& tokens) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) {
        if (i) out += ' ';
        out += listops_token_text(tokens[i]);
    }
    return out;
}

std::vector<Example> read_listops_tsv(const std::string& path, int max_len) {
    XB_CHECK(max_len > 0, "max_len must be positive, got {}", max_len);
    std::error_code fs_error;
    if (!std::filesystem::exists(path, fs_error))
        throw IoError(fmt::format("{}: file not found", path));
    if (std::filesystem::is_directory(path, fs_error))
        throw IoError(fmt::format("{}: is a directory, expected a ListOps TSV file", path));
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw IoError(fmt::format("{}: cannot open for reading ({})", path, std::strerror(errno)));

    std::vector<Example> examples;
    std::string line;
    size_t line_no = 0, first_blank = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line_no == 1) {
            if (line != kHeader)
                throw DataError(fmt::format("{}:1: expected the header 'Source\\tTarget', got '{}'",
                                            path, excerpt(line)));
            continue;
        }
        // Blank lines are tolerated only at the end (an extra newline), never between examples.
        if (line.empty()) {
            if (!first_blank) first_blank = line_no;
            continue;
        }
        if (first_blank)
            throw DataError(fmt::format("{}:{}: blank line between examples", path, first_blank));
        try {
            examples.push_back(parse_line(line, max_len));
        } catch (const DataError& e) {
            throw DataError(fmt::format("{}:{}: {}", path, line_no, e.what()));
        }
    }
    if (in.bad()) throw IoError(fmt::format("{}: read error after line {}", path, line_no));
    if (line_no == 0)
        throw DataError(
            fmt::format("{}:1: missing the header 'Source\\tTarget' (the file is empty)", path));
    return examples;
}

void write_listops_tsv(const std::string& path, const std::vector<Example>& examples) {
    AtomicFile out(path);
    std::string line = std::string(kHeader) + "\r\n";
    out.write(line);
    for (size_t i = 0; i < examples.size(); ++i) {
        const Example& ex = examples[i];
        if (ex.label < 0 || ex.label >= kListOpsNumClasses)
            throw DataError(
                fmt::format("{}: example {}: label {} is not 0-9", path, i + 1, ex.label));
        try {
            line = listops_tokens_to_source(ex.tokens);
        } catch (const DataError& e) {
            throw DataError(fmt::format(
                "{}: example {}: cannot write it as a tree: {} (was it truncated to max_len?)",
                path, i + 1, e.what()));
        }
        line += '\t';
        line += std::to_string(ex.label);
        line += "\r\n";
        out.write(line);
    }
    out.commit();
}

}  // namespace xb
