// The table of bad inputs (tests/app/bad_inputs.txt): each command line must exit with the
// listed code and one line on stderr containing the listed text, print nothing on stdout, and
// leave no output and no temporary file behind.
#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "support/run_binary.h"
#include "support/task_fixtures.h"
#include "tasks/formats/cifar_bin.h"
#include "tasks/formats/png_gray.h"
#include "train/checkpoint.h"

TEST_SUITE_BEGIN("integration");

using namespace xb;
using namespace xb::test;
namespace fs = std::filesystem;

namespace {

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

std::string trim(const std::string& s) {
    const size_t b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string big_endian(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }

// A PNG whose header claims width x height; its pixel data is not valid (never reached).
std::string png_header_only(uint32_t width, uint32_t height) {
    std::string ihdr =
        "IHDR" + big_endian(width) + big_endian(height) + std::string("\x08\x00\x00\x00\x00", 5);
    const uint32_t crc =
        uint32_t(crc32(0, reinterpret_cast<const Bytef*>(ihdr.data()), uInt(ihdr.size())));
    return std::string("\x89PNG\r\n\x1a\n", 8) + big_endian(13) + ihdr + big_endian(crc) +
           big_endian(4) + "IDATjunk" + big_endian(0);
}

std::string cifar_records(int n, int label) {
    std::string rec(1, char(label));
    rec += std::string(3 * kCifarPixels, char(7));
    std::string out;
    for (int i = 0; i < n; ++i) out += rec;
    return out;
}

// Checkpoints without tensors: of the default config (fits no model), of another config, and
// damaged copies (truncated, one bit flipped, another format version, not a checkpoint at all).
void write_checkpoint_fixtures(const ScratchDir& d) {
    Checkpoint c;
    c.config = to_json(RunConfig{});
    const std::string good = encode_checkpoint(c);
    d.file("ckpt-empty/r.json.ckpt", good);
    d.file("ckpt-trunc/r.json.ckpt", good.substr(0, good.size() - 5));
    std::string flipped = good;
    flipped[good.size() - 3] ^= 1;
    d.file("ckpt-crc/r.json.ckpt", flipped);
    std::string version = good;
    version[8] = 9;
    d.file("ckpt-version/r.json.ckpt", version);
    d.file("ckpt-garbage/r.json.ckpt", "garbage");
    RunConfig other;
    other.optim.lr = 0.5;
    c.config = to_json(other);
    d.file("ckpt-other/r.json.ckpt", encode_checkpoint(c));
}

void write_fixtures(const ScratchDir& d) {
    write_checkpoint_fixtures(d);
    d.file("unknown.json", R"({"model": {"layres": 2}})");
    d.file("array.json", "[1, 2]");
    d.file("syntax.json", R"({"model": {"dim": 12,}})");
    d.file("seedneg.json", R"({"seed": -1})");
    d.file("huge.json", R"({"optim": {"lr": 1e999}})");
    d.file("wrongtype.json", R"({"model": {"dim": "big"}})");
    d.file("deep.json",
           R"({"task": {"options": )" + std::string(10000, '[') + std::string(10000, ']') + "}}");
    d.file("afile", "not a directory");
    fs::create_directories(d.path / "reportdir");
    fs::create_directories(d.path / "afile-dir");

    const std::string good = "Source\tTarget\n( ( ( [MAX 2 ) 9 ) ] )\t9\n";
    d.file("listops/basic_train.tsv", good);
    d.file("listops/basic_val.tsv", good + "( [MIN 3 ] )\n");
    d.file("listops/basic_test.tsv", good);
    d.file("listops-noheader/basic_train.tsv", "( [MAX 2 9 ] )\t9\n");
    d.file("listops-noheader/basic_val.tsv", good);
    d.file("listops-noheader/basic_test.tsv", good);

    d.file("imdb-nopos/aclImdb/train/neg/0_1.txt", "bad");
    d.file("imdb-empty/aclImdb/train/pos/0_9.txt", "fine");
    d.file("imdb-empty/aclImdb/train/neg/0_1.txt", "bad");
    fs::create_directories(d.path / "imdb-empty/aclImdb/test/pos");
    fs::create_directories(d.path / "imdb-empty/aclImdb/test/neg");

    const std::string pair = "1\ta\tb\tc\td\n";
    for (auto [name, train] :
         {std::pair<std::string, std::string>{"aan-cols", pair + "0\ta\tb\tc\n"},
          {"aan-label", "yes\ta\tb\tc\td\n"},
          {"aan-half", "0.5\ta\tb\tc\td\n"},
          {"aan-empty", ""}}) {
        d.file(name + "/new_aan_pairs.train.tsv", train);
        d.file(name + "/new_aan_pairs.eval.tsv", pair);
        d.file(name + "/new_aan_pairs.test.tsv", pair);
    }

    for (const std::string name : {"cifar-trunc", "cifar-label"})
        for (int b = 1; b <= 5; ++b)
            d.file(name + "/data_batch_" + std::to_string(b) + ".bin", cifar_records(2, 1));
    d.file("cifar-trunc/test_batch.bin", cifar_records(1, 1).substr(0, 3000));
    d.file("cifar-label/test_batch.bin", cifar_records(1, 1) + cifar_records(1, 12));
    d.file("cifar-missing/test_batch.bin", cifar_records(1, 1));

    const std::string line = "imgs/0 sample_0.png 0 1\n";
    const std::string png32 = (d.path / "png32.png").string();
    write_png_gray(png32, {32, 32, std::vector<uint8_t>(1024, 9)});
    auto pathfinder = [&](const std::string& name, const std::string& meta) {
        d.file(name + "/metadata/0.npy", meta);
        fs::create_directories(d.path / name / "imgs/0");
        fs::copy_file(png32, d.path / name / "imgs/0/sample_0.png");
    };
    pathfinder("pf-short", "imgs/0 sample_0.png 0\n");
    pathfinder("pf-label", "imgs/0 sample_0.png 0 x\n");
    pathfinder("pf-dotdot", "../../../../etc passwd 0 1\n");
    pathfinder("pf-absolute", "/etc passwd 0 1\n");
    pathfinder("pf-empty", "\n");
    d.file("pf-size/metadata/0.npy", line);
    write_png_gray((d.path / "pf-size/imgs/0/sample_0.png").string(),
                   {16, 16, std::vector<uint8_t>(256, 0)});
    d.file("pf-huge/metadata/0.npy", line);
    d.file("pf-huge/imgs/0/sample_0.png", png_header_only(40000, 40000));
    d.file("pf-notpng/metadata/0.npy", line);
    d.file("pf-notpng/imgs/0/sample_0.png", "not a png at all");
    d.file("pf-garbage/metadata/0.npy", line);
    d.file("pf-garbage/imgs/0/sample_0.png", png_header_only(32, 32));
}

bool has_temporary_file(const fs::path& root) {
    for (const auto& e : fs::recursive_directory_iterator(root))
        if (e.path().filename().string().find(".tmp") != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("cli: every bad input in the table exits as listed, with one line and no output") {
    std::ifstream table(source_dir() + "/tests/app/bad_inputs.txt");
    REQUIRE(table.good());
    ScratchDir dir("bad_inputs");
    write_fixtures(dir);
    const std::string deep = "'" + std::string(1000, '[') + std::string(1000, ']') + "'";
    int cases = 0;
    for (std::string line; std::getline(table, line);) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string code, expect, args;
        std::getline(fields, code, '|');
        std::getline(fields, expect, '|');
        std::getline(fields, args);
        args = replace_all(replace_all(trim(args), "{dir}", dir.str()), "@DEEP@", deep);
        std::string prefix;
        if (args.rfind("fsize=", 0) == 0) {
            const size_t space = args.find(' ');
            prefix = "ulimit -f " + args.substr(6, space - 6) + "; ";
            args = args.substr(space + 1);
        }
        // Values with JSON braces or quotes go to the shell quoted.
        args = replace_all(args, "={\"", "='{\"");
        args = replace_all(args, "} ", "}' ");
        CAPTURE(line);
        CommandResult r = run_xformer_bench(args, "", prefix);
        CHECK(r.exit_code == std::stoi(code));
        CHECK(r.err.find(trim(expect)) != std::string::npos);
        CHECK(r.err.rfind("error: ", 0) == 0);
        CHECK(count_lines(r.err) == 1);
        CHECK(r.out.empty());
        CHECK_FALSE(fs::exists(dir.path / "results"));
        CHECK_FALSE(has_temporary_file(dir.path));
        fs::remove_all(dir.path / "results");
        ++cases;
    }
    CHECK(cases >= 60);
}

TEST_SUITE_END();
