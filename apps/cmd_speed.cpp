// `xformer-bench speed`: times training steps for each (variant, length) on random tokens and
// prints a table; writes one JSON file with a record per (variant, length). Each measurement
// runs in a fresh child process (this binary, hidden option --child), so peak RSS and peak
// tensor bytes belong to that measurement alone.
#include <fmt/format.h>
#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <memory>

#include "commands.h"
#include "core/distributed.h"
#include "core/errors.h"
#include "core/file_io.h"
#include "process.h"
#include "report/environment.h"
#include "report/json_file.h"
#include "report/schemas.h"
#include "report/speed_report.h"
#include "setup/run_setup.h"
#include "train/kernel_speed.h"
#include "train/speed.h"

namespace xb::app {

namespace {

struct SpeedOptions {
    std::string config;
    std::string variants = "full,linear";
    std::string lengths = "1024,2048,4096";
    int batch = 8;
    int steps = 3;
    int warmup = 1;
    std::vector<std::string> overrides;
    int threads = 0;
    std::string out = "results/speed";
    std::string child;       // "variant:length" in a child process
    bool kernel = false;     // time the full-attention kernel alone instead of training steps
    std::string max_memory;  // refuse larger estimates; "" = the available memory
};

std::string gib(size_t bytes) { return fmt::format("{:.3f}", double(bytes) / (1 << 30)); }

SpeedResult measure_one(const SpeedOptions& o, const RunConfig& base, const std::string& variant,
                        int length) {
    RunConfig cfg = base;
    cfg.model.attention.variant = variant;
    cfg.task.max_len = length;
    const RunSetup setup = check_run_setup(cfg);
    check_memory_estimate(setup, o.batch, length, false, o.max_memory, "--batch", "--lengths");
    return measure_speed(setup, length, o.batch, o.steps, o.warmup);
}

int speed_child(const SpeedOptions& o, const RunConfig& base) {
    size_t colon = o.child.rfind(':');
    SpeedResult r =
        measure_one(o, base, o.child.substr(0, colon), std::stoi(o.child.substr(colon + 1)));
    fmt::print("{}\n", nlohmann::json(r).dump());
    return 0;
}

// The line that heads every speed table: what ran it.
void print_machine(const nlohmann::json& env) {
    fmt::print("cpu: {}, simd: {}, threads: {}\n", env["cpu"].get<std::string>(),
               env["simd"].get<std::string>(), env["threads"].get<int>());
}

// `--kernel`: forward and backward of the fused full-attention kernel at each length, with
// B = --batch and H, D from the config's model, against the sgemm peak of this machine. The
// sgemm is timed right before each length, so both figures of a row come from the same minute:
// on a shared or virtual machine the attainable peak moves by tens of percent within minutes.
int kernel_speed_command(const SpeedOptions& o, const RunConfig& cfg) {
    std::vector<int> lengths = split_int_list(o.lengths, "--lengths");
    const int H = cfg.model.heads, D = cfg.model.dim / cfg.model.heads;
    const nlohmann::json env = environment_json();
    print_machine(env);
    fmt::print("{:>6} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8}\n", "length", "forward_s",
               "backward_s", "fwd_GF/s", "bwd_GF/s", "all_GF/s", "sgemm", "of_peak");
    nlohmann::json records = nlohmann::json::array();
    double best_peak = 0;
    for (int T : lengths) {
        const double peak = measure_sgemm_gflops(2048, 5);
        best_peak = std::max(best_peak, peak);
        KernelSpeed k = measure_full_attention_kernel(o.batch, H, D, T, std::max(3, o.steps));
        fmt::print("{:>6} {:>10.4f} {:>10.4f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>7.0f}%\n", T,
                   k.forward_s, k.backward_s, k.forward_gflops, k.backward_gflops, k.total_gflops,
                   peak, 100 * k.total_gflops / peak);
        nlohmann::json record = to_json(k);
        record["sgemm_gflops"] = peak;
        records.push_back(record);
    }
    fmt::print("sgemm: 2048x2048x2048 through the GEMM wrapper, median of 5, before each length\n");
    std::string path = fmt::format("{}/kernel_full_attention.json", o.out);
    write_json_atomic(path, {{"schema", kKernelSpeedSchema},
                             {"sgemm_gflops", best_peak},
                             {"flops", "forward 4*B*H*T^2*D, backward 10*B*H*T^2*D"},
                             {"records", records},
                             {"environment", env}});
    fmt::print("wrote {}\n", path);
    return 0;
}

int speed_command(const SpeedOptions& o) {
    std::vector<std::string> overrides = o.overrides;
    overrides.push_back(fmt::format("train.threads={}", o.threads));
    // The variant being measured (the child's, else the first listed) is set before validation,
    // so `--set model.attention.options...` is checked against that variant's options.
    std::vector<std::string> variants = split_list(o.variants, "--variants");
    const std::string first = o.child.empty() ? variants[0] : o.child.substr(0, o.child.rfind(':'));
    const RunConfig base = load_run_setup(o.config, overrides, o.kernel ? "" : first).config;
    set_threads(base.train.threads);
    if (!o.child.empty()) return speed_child(o, base);
    if (o.kernel && world_size() > 1)
        throw ConfigError("--kernel times the kernel in one process: run it without mpirun");
    std::vector<int> lengths = split_int_list(o.lengths, "--lengths");
    // Every variant with these options, and whether each measurement fits in memory, before
    // measuring any.
    for (const auto& v : variants) {
        if (o.kernel) break;
        RunSetup setup = load_run_setup(o.config, overrides, v);
        for (int len : lengths) {
            setup.config.task.max_len = len;
            check_memory_estimate(setup, o.batch, len, false, o.max_memory, "--batch", "--lengths");
        }
    }
    probe_writable_directory(o.out);  // before the measurements, not after
    if (o.kernel) return kernel_speed_command(o, base);

    std::vector<std::string> common = {"xformer-bench", "speed"};
    if (!o.config.empty()) common.insert(common.end(), {"--config", o.config});
    for (const auto& s : o.overrides) common.insert(common.end(), {"--set", s});
    common.insert(common.end(),
                  {"--threads", std::to_string(o.threads), "--batch", std::to_string(o.batch),
                   "--steps", std::to_string(o.steps), "--warmup", std::to_string(o.warmup)});
    if (!o.max_memory.empty()) common.insert(common.end(), {"--max-memory", o.max_memory});

    std::vector<SpeedResult> results;
    const nlohmann::json env = environment_json();
    // Under mpirun every rank measures in this process (a child would not be part of the MPI
    // job); rank 0 alone prints and writes. The comm columns show the gradient allreduce.
    const bool mpi = world_size() > 1, print = world_rank() == 0;
    if (print) print_machine(env);
    if (print)
        fmt::print("{:<12} {:>6} {:>10} {:>9} {:>11} {:>10} {:>10} {:>8} {:>8}{}\n", "variant",
                   "length", "step_s", "steps/s", "tokens/s", "tensor_GB", "rss_GB", "speedup",
                   "mem_x", mpi ? fmt::format(" {:>9} {:>6}", "comm_s", "comm%") : "");
    for (const auto& v : variants) {
        for (int len : lengths) {
            std::vector<std::string> args = common;
            args.insert(args.end(), {"--child", fmt::format("{}:{}", v, len)});
            std::string what = fmt::format("speed: the measurement '{}'", args.back());
            SpeedResult r =
                mpi ? measure_one(o, base, v, len)
                    : nlohmann::json::parse(run_self_capture(args, what)).get<SpeedResult>();
            results.push_back(r);
            if (!print) continue;
            // Against the first variant at this length (measured before the others)
            const SpeedResult* ref = find_measurement(results, variants[0], len);
            const BaselineRatios ratios = ref ? ratios_to(r, *ref) : BaselineRatios{1.0, 1.0, 1.0};
            fmt::print(
                "{:<12} {:>6} {:>10.4f} {:>9.3f} {:>11.0f} {:>10} {:>10} {:>8.2f} {:>8.2f}{}\n", v,
                len, r.median_step_s, 1.0 / r.median_step_s, r.tokens_per_s,
                gib(r.peak_tensor_bytes), gib(r.peak_rss_bytes), ratios.speedup,
                ratios.memory_ratio,
                mpi ? fmt::format(" {:>9.4f} {:>5.1f}%", r.communication_s,
                                  100 * r.communication_s / r.median_step_s)
                    : "");
            std::fflush(stdout);
        }
    }
    if (!print) return 0;
    for (auto& r : results)
        if (const SpeedResult* ref = find_measurement(results, variants[0], r.length))
            r.vs_baseline = ratios_to(r, *ref);
    // The embedded config says what was measured: the baseline variant, the --batch and the
    // longest length (each record has its own variant and length); `measured` lists the rest.
    RunConfig measured_config = base;
    measured_config.train.batch_size = o.batch;
    measured_config.task.max_len = *std::max_element(lengths.begin(), lengths.end());
    SpeedReport report;
    report.baseline = variants[0];
    report.isolation =
        mpi ? "in-process per rank (MPI data parallel)" : "one child process per (variant, length)";
    report.config = to_json(measured_config);
    report.measured = SpeedMeasured{variants,
                                    lengths,
                                    o.batch,
                                    o.steps,
                                    o.warmup,
                                    env.value("threads", 0),
                                    env.value("simd", "")};
    report.records = results;
    report.environment = env;
    std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
    // Timestamped; a second file in the same second gets a numeric suffix instead of replacing it.
    std::string path = fmt::format("{}/speed_{}_{}.json", o.out, base.task.name, stamp);
    for (int n = 2; std::filesystem::exists(path); ++n)
        path = fmt::format("{}/speed_{}_{}-{}.json", o.out, base.task.name, stamp, n);
    write_json_atomic(path, report);
    fmt::print("wrote {}\n", path);
    return 0;
}

}  // namespace

Runner setup_speed(CLI::App& app) {
    auto o = std::make_shared<SpeedOptions>();
    auto* sub = app.add_subcommand("speed", "Time training steps per variant and sequence length");
    sub->add_option("--config", o->config, "Config JSON file (model and task)")
        ->check(CLI::ExistingFile);
    sub->add_option("--variants", o->variants,
                    "Comma-separated variants; the first is the baseline")
        ->capture_default_str();
    sub->add_option("--lengths", o->lengths, "Comma-separated sequence lengths")
        ->capture_default_str();
    sub->add_option("--batch", o->batch, "Batch size")
        ->check(CLI::Range(1, 4096))
        ->capture_default_str();
    sub->add_option("--steps", o->steps, "Timed steps (the median is reported)")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    sub->add_option("--warmup", o->warmup, "Untimed warm-up steps")
        ->check(CLI::Range(0, 100))
        ->capture_default_str();
    sub->add_option("--set", o->overrides, "Override a config key: key.path=value (repeatable)");
    sub->add_option("--threads", o->threads, "Threads (0 = all cores)")->check(CLI::Range(0, 1024));
    sub->add_option("--out", o->out, "Directory for the JSON file")->capture_default_str();
    add_max_memory_option(sub, &o->max_memory);
    sub->add_flag("--kernel", o->kernel,
                  "Time the fused full-attention kernel alone (GFLOP/s against sgemm peak)");
    sub->add_option("--child", o->child, "(internal) measure one variant:length and print JSON")
        ->group("");
    return [o] { return speed_command(*o); };
}

}  // namespace xb::app
