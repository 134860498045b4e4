// Environment capture for reports; see environment.h.
#include "report/environment.h"

#include "core/distributed.h"
#include "core/simd_target.h"

#include "report/build_info.h"

#include <omp.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>

namespace xb {

static std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            size_t colon = line.find(':');
            if (colon != std::string::npos)
                return line.substr(line.find_first_not_of(" \t", colon + 1));
        }
    }
    return "unknown";
}

nlohmann::json environment_json() {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    nlohmann::json env = {
        {"cpu", cpu_model()},
        {"cores", std::thread::hardware_concurrency()},
        {"threads", omp_get_max_threads()},
        {"compiler", std::string("g++ ") + __VERSION__},
        {"build_type", kBuildType},
        {"simd", current_simd_target()},
        {"version", kVersion},
        {"git_commit", kGitCommit},
        {"hostname", host},
    };
    if (world_size() > 1) {  // data-parallel over MPI: threads above are per rank
        env["mpi_ranks"] = world_size();
        env["mpi_hosts"] = world_hosts();
    }
    return env;
}

}  // namespace xb
