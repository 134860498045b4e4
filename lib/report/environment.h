// Where a result was measured: CPU model, threads, compiler, build type, version, git commit;
// under MPI also the rank count and each rank's host.
#pragma once
#include <nlohmann/json.hpp>

namespace xb {

nlohmann::json environment_json();

}  // namespace xb
