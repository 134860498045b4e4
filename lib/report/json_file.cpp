// Atomic JSON writes; see json_file.h.
#include "report/json_file.h"

#include "core/file_io.h"

namespace xb {

void write_json_atomic(const std::string& path, const nlohmann::json& j) {
    write_file_atomic(path, j.dump(2) + "\n");
}

}  // namespace xb
