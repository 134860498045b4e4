// Where a result was measured: CPU model, threads, compiler, build type, version, git commit.
#pragma once
#include <nlohmann/json.hpp>

namespace xb {

nlohmann::json environment_json();

}  // namespace xb
