// Atomic JSON writes; see json_file.h.
#include "report/json_file.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/errors.h"

namespace xb {

void write_text_atomic(const std::string& path, const std::string& text) {
    namespace fs = std::filesystem;
    fs::path target(path);
    std::error_code ec;
    if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
    if (ec) throw IoError(fmt::format("{}: cannot create directory ({})", path, ec.message()));
    // The temporary file is in the target's directory (so rename is atomic there) and named
    // after host and process, so writers on different nodes of a shared filesystem never share one.
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    std::string tmp = path + fmt::format(".tmp.{}.{}", host, getpid());
    {
        std::ofstream out(tmp, std::ios::trunc);
        if (!out) throw IoError(fmt::format("{}: cannot write file", tmp));
        out << text;
        out.flush();
        if (!out) throw IoError(fmt::format("{}: write failed", tmp));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw IoError(fmt::format("{}: cannot rename the temporary file into place", path));
    }
}

void write_json_atomic(const std::string& path, const nlohmann::json& j) {
    write_text_atomic(path, j.dump(2) + "\n");
}

}  // namespace xb
