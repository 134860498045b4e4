// Loaders of the real formats (aclImdb folders, AAN TSV, CIFAR-10 binary, Pathfinder metadata +
// PNG) on small fixtures written here, the round trip `write` -> `load`, and each kind of bad
// input (missing folder, truncated file, wrong column count, non-numeric label, undecodable PNG,
// empty split) as a DataError naming the file.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "core/errors.h"
#include "support/run_binary.h"
#include "support/task_fixtures.h"
#include "tasks/formats/cifar_bin.h"
#include "tasks/formats/png_gray.h"
#include "tasks/generated.h"
#include "tasks/task.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;
namespace fs = std::filesystem;

namespace {

// The DataError message of loading `cfg`, or "no error".
std::string load_error(const TaskConfig& cfg) {
    try {
        make_task(cfg)->load(cfg);
    } catch (const DataError& e) {
        return e.what();
    }
    return "no error";
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TaskConfig loading(const std::string& task, const std::string& dir, int max_len) {
    TaskConfig cfg = task_config(task, 1, 1, 1, max_len);
    cfg.data_dir = dir;
    return cfg;
}

std::string cifar_record(int label, uint8_t r, uint8_t g, uint8_t b) {
    std::string rec(1, char(label));
    rec += std::string(kCifarPixels, char(r)) + std::string(kCifarPixels, char(g)) +
           std::string(kCifarPixels, char(b));
    return rec;
}

}  // namespace

TEST_CASE("text loader: aclImdb folders, byte tokens, truncation, val = test") {
    ScratchDir dir("imdb");
    dir.file("aclImdb/train/pos/3_9.txt", "Great!");
    dir.file("aclImdb/train/neg/3_2.txt", "Bad.");
    dir.file("aclImdb/train/neg/10_1.txt", "Worst film of the decade");
    dir.file("aclImdb/test/pos/0_8.txt", "ok");
    dir.file("aclImdb/test/neg/0_4.txt", "meh");
    TaskConfig cfg = loading("text", dir.str(), 8);  // the parent of aclImdb is accepted
    Dataset d = make_task(cfg)->load(cfg);
    REQUIRE(d.train.size() == 3);
    CHECK(d.train[0].label == 1);  // id 3: pos before neg
    CHECK(d.train[0].tokens ==
          std::vector<int32_t>{'G' + 1, 'r' + 1, 'e' + 1, 'a' + 1, 't' + 1, '!' + 1});
    CHECK(d.train[1].label == 0);
    CHECK(tokens_to_bytes(d.train[2].tokens) == "Worst fi");  // truncated to max_len bytes
    CHECK(same_examples(d.val, d.test));
    CHECK(d.test.size() == 2);
}

TEST_CASE("retrieval loader: AAN TSV columns and float labels") {
    ScratchDir dir("aan");
    dir.file("new_aan_pairs.train.tsv", "1.0\tP1\tP2\tabc\tdefgh\n0\tP3\tP4\tx\ty\n");
    dir.file("new_aan_pairs.eval.tsv", "0.0\ta\tb\tq\tr\r\n");
    dir.file("new_aan_pairs.test.tsv", "1\ta\tb\tq\tr\n");
    TaskConfig cfg = loading("retrieval", dir.str(), 4);
    Dataset d = make_task(cfg)->load(cfg);
    REQUIRE(d.train.size() == 2);
    CHECK(d.train[0].label == 1);
    CHECK(tokens_to_bytes(d.train[0].tokens) == "abc");
    CHECK(tokens_to_bytes(d.train[0].tokens2) == "defg");
    CHECK(d.train[1].label == 0);
    CHECK(d.val.size() == 1);
    CHECK(tokens_to_bytes(d.val[0].tokens2) == "r");
}

TEST_CASE("image loader: CIFAR records, LRA grayscale, 90/10 split of the training batches") {
    // The grayscale weights as TF applies them, and gray pixels map to themselves.
    CHECK(cifar_gray(255, 0, 0) == 76);   // 0.2989 * 255.5 = 76.4
    CHECK(cifar_gray(0, 255, 0) == 149);  // 0.5870 * 255.5 = 149.98
    CHECK(cifar_gray(0, 0, 255) == 29);   // 0.1140 * 255.5 = 29.1
    for (int v = 0; v < 256; ++v) REQUIRE(cifar_gray(uint8_t(v), uint8_t(v), uint8_t(v)) == v);
    ScratchDir dir("cifar");
    for (int b = 1; b <= 5; ++b) {
        std::string batch;
        for (int i = 0; i < 2; ++i) batch += cifar_record((b * 2 + i) % 10, 200, 100, 50);
        dir.file("cifar-10-batches-bin/data_batch_" + std::to_string(b) + ".bin", batch);
    }
    dir.file("cifar-10-batches-bin/test_batch.bin", cifar_record(7, 0, 0, 0));
    TaskConfig cfg = loading("image", dir.str(), 1024);
    Dataset d = make_task(cfg)->load(cfg);
    CHECK(d.train.size() == 9);
    CHECK(d.val.size() == 1);
    CHECK(d.val[0].label == 1);  // the last record of data_batch_5: (5 * 2 + 1) % 10
    CHECK(d.test[0].label == 7);
    CHECK(d.test[0].tokens[0] == 1);  // black is id 1, not padding
    CHECK(d.train[0].tokens[5] == int(cifar_gray(200, 100, 50)) + 1);
}

TEST_CASE("pathfinder loader: metadata lines and PNGs, 80/10/10 split") {
    ScratchDir dir("pathfinder");
    std::string meta;
    for (int i = 0; i < 10; ++i) {
        GrayImage img{32, 32, std::vector<uint8_t>(1024, uint8_t(i * 20))};
        fs::create_directories(dir.path / "imgs/0");
        write_png_gray((dir.path / "imgs/0" / ("sample_" + std::to_string(i) + ".png")).string(),
                       img);
        meta += "imgs/0 sample_" + std::to_string(i) + ".png " + std::to_string(i) + " " +
                std::to_string(i % 2) + " 14 2 5\n";
    }
    dir.file("metadata/0.npy", meta);
    TaskConfig cfg = loading("pathfinder", dir.str(), 1024);
    Dataset d = make_task(cfg)->load(cfg);
    CHECK(d.train.size() == 8);
    CHECK(d.val.size() == 1);
    CHECK(d.test.size() == 1);
    CHECK(d.train[3].label == 1);
    CHECK(d.train[3].tokens[100] == 61);
    CHECK(d.test[0].tokens[0] == 181);
}

TEST_CASE("data round trip: loading what write() wrote gives back the same examples") {
    struct RoundTrip {
        const char* task;
        int n_train, n_val, n_test, max_len;
    };
    for (const RoundTrip& c :
         {RoundTrip{"text", 12, 5, 6, 800}, RoundTrip{"retrieval", 8, 4, 4, 1200},
          RoundTrip{"image", 18, 2, 5, 1024}, RoundTrip{"pathfinder", 16, 2, 2, 1024},
          RoundTrip{"pathx", 8, 1, 1, 16384}}) {
        const std::string name = c.task;
        CAPTURE(name);
        TaskConfig cfg = task_config(c.task, c.n_train, c.n_val, c.n_test, c.max_len);
        auto task = make_task(cfg);
        Dataset generated = task->generate(cfg, 21);
        ScratchDir dir(std::string("roundtrip_") + c.task);
        task->write(generated, dir.str());
        cfg.data_dir = dir.str();
        CHECK(same_dataset(task->load(cfg), generated));
    }
    // Formats without a val split refuse sizes their loader would split differently.
    TaskConfig cfg = task_config("image", 10, 5, 2, 1024);
    auto task = make_task(cfg);
    ScratchDir dir("roundtrip_bad_split");
    CHECK_THROWS_AS(task->write(task->generate(cfg, 1), dir.str()), ConfigError);
}

TEST_CASE(
    "pathfinder side option: 16x16 images of 256 tokens load back; a 32-px loader refuses "
    "them") {
    TaskConfig cfg = task_config("pathfinder", 16, 2, 2, 256,
                                 {{"side", 16},
                                  {"contour_length", 4},
                                  {"distractors", 1},
                                  {"distractor_length", 2},
                                  {"marker_radius", 1.0}});
    auto task = make_task(cfg);
    Dataset generated = task->generate(cfg, 5);
    for (const Example& ex : generated.train) CHECK(ex.tokens.size() == 256);
    ScratchDir dir("pathfinder_side16");
    task->write(generated, dir.str());
    cfg.data_dir = dir.str();
    CHECK(same_dataset(task->load(cfg), generated));
    CHECK(contains(load_error(loading("pathfinder", dir.str(), 1024)), "expected 32x32"));
}

TEST_CASE("loaders: bad input is a DataError naming the file") {
    ScratchDir dir("bad_input");
    // Missing directories.
    CHECK(contains(load_error(loading("text", dir.str() + "/nope", 100)), "/nope"));
    CHECK(contains(load_error(loading("retrieval", dir.str() + "/nope", 100)),
                   "directory not found"));
    CHECK(contains(load_error(loading("image", dir.str() + "/nope", 1024)), "/nope"));
    CHECK(contains(load_error(loading("pathfinder", dir.str() + "/nope", 1024)), "/nope"));

    // Empty split: aclImdb/test with no reviews.
    dir.file("imdb/aclImdb/train/pos/0_9.txt", "fine");
    dir.file("imdb/aclImdb/train/neg/0_1.txt", "bad");
    fs::create_directories(dir.path / "imdb/aclImdb/test/pos");
    fs::create_directories(dir.path / "imdb/aclImdb/test/neg");
    CHECK(contains(load_error(loading("text", (dir.path / "imdb").string(), 100)),
                   "aclImdb/test: empty split"));

    // AAN: wrong column count, non-numeric label, label not 0/1, empty file.
    auto aan = [&](const std::string& train) {
        fs::path d = dir.path / "aan";
        fs::remove_all(d);
        dir.file("aan/new_aan_pairs.train.tsv", train);
        dir.file("aan/new_aan_pairs.eval.tsv", "1\ta\tb\tc\td\n");
        dir.file("aan/new_aan_pairs.test.tsv", "1\ta\tb\tc\td\n");
        return load_error(loading("retrieval", d.string(), 100));
    };
    CHECK(contains(aan("1\ta\tb\tc\td\n0\ta\tb\tc\n"), "new_aan_pairs.train.tsv:2: expected 5"));
    CHECK(contains(aan("yes\ta\tb\tc\td\n"),
                   "new_aan_pairs.train.tsv:1: label 'yes' is not a number"));
    CHECK(contains(aan("0.5\ta\tb\tc\td\n"), "train.tsv:1: label 0.5 is not 0 or 1"));
    CHECK(contains(aan(""), "new_aan_pairs.train.tsv: empty split"));

    // CIFAR: a truncated batch and a bad label byte.
    for (int b = 1; b <= 5; ++b)
        dir.file("cifar/data_batch_" + std::to_string(b) + ".bin", cifar_record(1, 1, 2, 3));
    dir.file("cifar/test_batch.bin", cifar_record(1, 1, 2, 3).substr(0, 3000));
    std::string msg = load_error(loading("image", (dir.path / "cifar").string(), 1024));
    CHECK(contains(msg, "test_batch.bin: truncated"));
    CHECK(contains(msg, "record 0"));
    dir.file("cifar/test_batch.bin", cifar_record(1, 1, 2, 3) + cifar_record(12, 1, 2, 3));
    CHECK(contains(load_error(loading("image", (dir.path / "cifar").string(), 1024)),
                   "test_batch.bin: record 1: label byte 12"));
    dir.file("cifar/test_batch.bin", "");
    CHECK(contains(load_error(loading("image", (dir.path / "cifar").string(), 1024)),
                   "test_batch.bin: empty"));

    // Pathfinder: a PNG that does not decode, a short metadata line, a bad label, no images.
    dir.file("pf/imgs/0/sample_0.png", "\x89PNG\r\n\x1a\n garbage");
    dir.file("pf/metadata/0.npy", "imgs/0 sample_0.png 0 1\n");
    msg = load_error(loading("pathfinder", (dir.path / "pf").string(), 1024));
    CHECK(contains(msg, "sample_0.png: PNG does not decode"));
    CHECK(contains(msg, "0.npy:1"));
    dir.file("pf/imgs/0/sample_0.png", "not a png at all");
    CHECK(contains(load_error(loading("pathfinder", (dir.path / "pf").string(), 1024)),
                   "sample_0.png: not a PNG"));
    dir.file("pf/metadata/0.npy", "imgs/0 sample_0.png 0\n");
    CHECK(contains(load_error(loading("pathfinder", (dir.path / "pf").string(), 1024)),
                   "0.npy:1: expected at least 4"));
    dir.file("pf/metadata/0.npy", "imgs/0 sample_0.png 0 x\n");
    CHECK(contains(load_error(loading("pathfinder", (dir.path / "pf").string(), 1024)),
                   "0.npy:1: label 'x'"));
    dir.file("pf/metadata/0.npy", "\n");
    CHECK(contains(load_error(loading("pathfinder", (dir.path / "pf").string(), 1024)),
                   "empty split"));
    // A 16x16 image where 32x32 is expected.
    write_png_gray((dir.path / "pf/imgs/0/sample_0.png").string(),
                   {16, 16, std::vector<uint8_t>(256, 0)});
    dir.file("pf/metadata/0.npy", "imgs/0 sample_0.png 0 1\n");
    CHECK(contains(load_error(loading("pathfinder", (dir.path / "pf").string(), 1024)),
                   "image is 16x16, expected 32x32"));
}

TEST_CASE("cli: bad data files exit 2 naming the file, data writes and previews" *
          doctest::test_suite("integration")) {
    ScratchDir dir("cli_data");
    dir.file("aan/new_aan_pairs.train.tsv", "1\ta\tb\tc\n");
    dir.file("aan/new_aan_pairs.eval.tsv", "1\ta\tb\tc\td\n");
    dir.file("aan/new_aan_pairs.test.tsv", "1\ta\tb\tc\td\n");
    CommandResult r = run_xformer_bench("run --set task.name=retrieval --set task.data_dir=" +
                                        (dir.path / "aan").string() + " --out " + dir.str());
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "new_aan_pairs.train.tsv:1"));
    CHECK_FALSE(fs::exists(dir.path / "retrieval__full__seed1.json"));

    r = run_xformer_bench("data image --preview 1");
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "class "));
    r = run_xformer_bench("data pathfinder --out " + (dir.path / "pf").string() +
                          " --set task.n_train=8 --set task.n_val=1 --set task.n_test=1"
                          " --set task.max_len=1024");
    CHECK(r.exit_code == 0);
    CHECK(fs::exists(dir.path / "pf/metadata/0.npy"));
    CHECK(fs::exists(dir.path / "pf/imgs/0/sample_9.png"));
}

TEST_SUITE_END();
