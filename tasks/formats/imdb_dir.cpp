// IMDb aclImdb directory reading and writing; see imdb_dir.h.
#include "tasks/formats/imdb_dir.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <tuple>

#include "core/errors.h"
#include "core/file_io.h"
#include "tasks/generated.h"

namespace xb {

namespace fs = std::filesystem;

namespace {

struct ReviewFile {
    long long id;  // the number before '_' (or -1 when the name has none)
    int label;
    std::string name, path;
};

long long leading_id(const std::string& name) {
    size_t n = 0;
    while (n < name.size() && n < 18 && std::isdigit(static_cast<unsigned char>(name[n]))) ++n;
    return n == 0 ? -1 : std::atoll(name.substr(0, n).c_str());
}

}  // namespace

std::vector<Example> read_imdb_split(const std::string& split_dir, int max_len) {
    require_directory(split_dir, "an aclImdb split with pos/ and neg/");
    std::vector<ReviewFile> files;
    for (int label : {1, 0}) {
        const std::string dir = (fs::path(split_dir) / (label ? "pos" : "neg")).string();
        require_directory(dir, "a folder of review .txt files");
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(dir, ec)) {
            if (entry.path().extension() != ".txt") continue;
            std::string name = entry.path().filename().string();
            files.push_back({leading_id(name), label, name, entry.path().string()});
        }
        if (ec) throw IoError(fmt::format("{}: cannot list directory: {}", dir, ec.message()));
    }
    if (files.empty())
        throw DataError(fmt::format("{}: empty split (no .txt files in pos/ or neg/)", split_dir));
    std::sort(files.begin(), files.end(), [](const ReviewFile& a, const ReviewFile& b) {
        return std::tie(a.id, b.label, a.name) < std::tie(b.id, a.label, b.name);
    });
    std::vector<Example> out(files.size());
    for (size_t i = 0; i < files.size(); ++i) {
        out[i].tokens = bytes_to_tokens(read_file_bytes(files[i].path, size_t(max_len)), max_len);
        out[i].label = files[i].label;
    }
    return out;
}

void write_imdb_split(const std::string& split_dir, const std::vector<Example>& examples) {
    for (const char* sub : {"pos", "neg"}) make_directory((fs::path(split_dir) / sub).string());
    for (size_t i = 0; i < examples.size(); ++i) {
        const Example& ex = examples[i];
        if (ex.label != 0 && ex.label != 1)
            throw DataError(
                fmt::format("{}: example {}: label {} is not 0 or 1", split_dir, i, ex.label));
        std::string name =
            fmt::format("{}/{}_{}.txt", ex.label ? "pos" : "neg", i, ex.label ? 10 : 1);
        write_file_atomic((fs::path(split_dir) / name).string(), tokens_to_bytes(ex.tokens));
    }
}

}  // namespace xb
