// xformer-bench: entry point. Parses the command line, dispatches to one subcommand, and turns
// user errors into one line on stderr and exit code 2 (never a stack trace).
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <map>

#include "commands.h"
#include "core/distributed.h"
#include "core/errors.h"
#include "core/simd_target.h"
#include "openmp_wait.h"
#include "report/build_info.h"

int main(int argc, char** argv) {
    xb::app::apply_openmp_wait_policy(argv);   // before any thread exists; may restart
    xb::DistributedSession mpi(&argc, &argv);  // joins MPI only when mpirun started this process
    // A file-size limit (ulimit -f) or a full quota then fails a write with EFBIG, reported like
    // any other write error, instead of killing the process.
    std::signal(SIGXFSZ, SIG_IGN);
    CLI::App app{"xformer-bench: Long Range Arena style benchmarks for efficient transformers"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string(xb::kVersion) + " (" + xb::kGitCommit + ")");
    std::map<CLI::App*, xb::app::Runner> runners;
    for (auto setup : {xb::app::setup_run, xb::app::setup_speed, xb::app::setup_list,
                       xb::app::setup_data, xb::app::setup_sweep, xb::app::setup_compare,
                       xb::app::setup_plot, xb::app::setup_evaluate}) {
        size_t before = app.get_subcommands({}).size();
        xb::app::Runner runner = setup(app);
        runners[app.get_subcommands({})[before]] = runner;
    }
    if (argc > 1 && argv[1][0] != '-') {  // name the unknown command and the valid ones
        std::vector<std::string> names;
        bool known = false;
        for (const auto* sub : app.get_subcommands({})) {
            names.push_back(sub->get_name());
            known = known || sub->get_name() == argv[1];
        }
        if (!known) {
            fmt::print(stderr, "error: unknown command '{}' (valid: {})\n", argv[1],
                       xb::join_names(names));
            return 2;
        }
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        fmt::print(stderr, "error: {} (see --help)\n", e.what());
        return 2;
    }
    try {
        xb::apply_simd_override_from_env();
        for (auto& [sub, runner] : runners)
            if (sub->parsed()) return runner();
    } catch (const xb::UserError& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        return 2;
    } catch (const std::bad_alloc&) {
        // The pool's limit (XB_MAX_MEMORY or physical memory) or the system refused a tensor.
        const std::string& estimate = xb::app::last_memory_estimate();
        if (!estimate.empty())
            fmt::print(stderr,
                       "error: out of memory (a tensor beyond XB_MAX_MEMORY, the physical memory "
                       "or what the system gives); {}\n",
                       estimate);
        else
            fmt::print(stderr,
                       "error: out of memory (the sizes that drive it: train.batch_size, "
                       "task.max_len, task.n_train, model.dim, model.ffn_dim, model.layers)\n");
        return 2;
    } catch (const std::exception& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        return 1;
    }
    return 0;
}
