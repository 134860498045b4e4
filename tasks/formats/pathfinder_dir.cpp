// Pathfinder metadata + PNG directories; see pathfinder_dir.h.
#include "tasks/formats/pathfinder_dir.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <sstream>
#include <tuple>

#include "core/errors.h"
#include "core/file_io.h"
#include "tasks/formats/png_gray.h"
#include "tasks/generated.h"

namespace xb {

namespace fs = std::filesystem;

namespace {

constexpr size_t kImagesPerFolder = 1000;

struct Entry {
    std::string png, where;  // image path; "metadata file:line" for messages
    int label;
};

long long numeric_stem(const fs::path& p) {
    std::string s = p.stem().string();
    if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c));
        }))
        return -1;
    return std::stoll(s);
}

}  // namespace

std::vector<Example> read_pathfinder_dir(const std::string& root, int side) {
    require_directory(root, "a Pathfinder folder with metadata/ and image folders");
    const fs::path meta_dir = fs::path(root) / "metadata";
    require_directory(meta_dir.string(), "the Pathfinder metadata folder of .npy text files");
    std::vector<fs::path> metas;
    for (const auto& e : fs::directory_iterator(meta_dir))
        if (e.path().extension() == ".npy") metas.push_back(e.path());
    std::sort(metas.begin(), metas.end(), [](const fs::path& a, const fs::path& b) {
        return std::make_tuple(numeric_stem(a), a.filename()) <
               std::make_tuple(numeric_stem(b), b.filename());
    });
    std::vector<Entry> entries;
    for (const auto& m : metas) {
        std::istringstream in(read_file_bytes(m.string()));
        std::string line;
        for (size_t line_no = 1; std::getline(in, line); ++line_no) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            std::istringstream fields(line);
            std::vector<std::string> f;
            for (std::string w; fields >> w;) f.push_back(w);
            if (f.empty()) continue;
            std::string where = fmt::format("{}:{}", m.string(), line_no);
            if (f.size() < 4)
                throw DataError(fmt::format(
                    "{}: expected at least 4 space-separated fields (subdir, file, number, "
                    "label), got {}",
                    where, f.size()));
            if (f[3] != "0" && f[3] != "1")
                throw DataError(fmt::format("{}: label '{}' (field 4) is not 0 or 1", where, f[3]));
            entries.push_back(
                {path_inside(root, (fs::path(f[0]) / f[1]).string(), where), where, f[3] == "1"});
        }
    }
    if (entries.empty())
        throw DataError(
            fmt::format("{}: empty split (no images listed in metadata/*.npy)", meta_dir.string()));

    std::vector<Example> out(entries.size());
    std::vector<std::string> errors(entries.size());
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < int64_t(entries.size()); ++i) {
        const Entry& e = entries[size_t(i)];
        try {
            GrayImage img = read_png_gray(e.png, side, side);
            out[size_t(i)].tokens = pixels_to_tokens(img.pixels);
            out[size_t(i)].label = e.label;
        } catch (const std::exception& ex) {
            errors[size_t(i)] = fmt::format("{} (listed at {})", ex.what(), e.where);
        }
    }
    for (const auto& err : errors)
        if (!err.empty()) throw DataError(err);
    return out;
}

void write_pathfinder_dir(const std::string& root, const std::vector<Example>& examples, int side) {
    const fs::path meta_dir = fs::path(root) / "metadata";
    make_directory(meta_dir.string());
    for (size_t folder = 0; folder * kImagesPerFolder < examples.size(); ++folder) {
        const std::string sub = fmt::format("imgs/{}", folder);
        make_directory((fs::path(root) / sub).string());
        std::string meta;
        const size_t end = std::min(examples.size(), (folder + 1) * kImagesPerFolder);
        for (size_t i = folder * kImagesPerFolder; i < end; ++i) {
            const Example& ex = examples[i];
            if (ex.tokens.size() != size_t(side) * size_t(side) || (ex.label != 0 && ex.label != 1))
                throw DataError(
                    fmt::format("{}: example {} has {} tokens and label {} (expected "
                                "{} tokens and label 0 or 1)",
                                root, i, ex.tokens.size(), ex.label, side * side));
            const std::string name = fmt::format("sample_{}.png", i);
            write_png_gray((fs::path(root) / sub / name).string(),
                           {side, side, tokens_to_pixels(ex.tokens)});
            meta += fmt::format("{} {} {} {}\n", sub, name, i, ex.label);
        }
        write_file_atomic((meta_dir / fmt::format("{}.npy", folder)).string(), meta);
    }
}

}  // namespace xb
