// Checkpoints in process: the file round-trips exactly; a run resumed from any of its
// checkpoints (periodic, at a stop request, at the end) ends with the uninterrupted run's
// metrics and history; corrupt, truncated and other-version files are refused naming the file.
#include <doctest/doctest.h>

#include <cstring>
#include <map>

#include "core/errors.h"
#include "setup/run_setup.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

using namespace xb;

TEST_SUITE_BEGIN("integration");

namespace {

// Dropout on, several epochs (8 steps each), checkpoints out of step with validation.
RunSetup checkpoint_setup() {
    return load_run_setup("",
                          {"task.max_len=40", "task.n_train=128", "task.n_val=32", "task.n_test=32",
                           "task.options={\"min_length\": 8, \"max_length\": 40}", "model.layers=1",
                           "model.dim=16", "model.heads=2", "model.ffn_dim=32", "model.dropout=0.1",
                           "optim.warmup_steps=5", "optim.schedule=cosine", "train.batch_size=16",
                           "train.steps=30", "train.eval_every=10", "train.checkpoint_every=7"});
}

void check_same_results(const RunResult& a, const RunResult& b) {
    CHECK(a.status == b.status);
    CHECK(a.steps_done == b.steps_done);
    REQUIRE(a.history.size() == b.history.size());
    for (size_t i = 0; i < a.history.size(); ++i) {
        CHECK(a.history[i].step == b.history[i].step);
        CHECK(a.history[i].train_loss == b.history[i].train_loss);
        CHECK(a.history[i].val_accuracy == b.history[i].val_accuracy);
    }
    CHECK(a.best_val_accuracy == b.best_val_accuracy);
    CHECK(a.best_val_step == b.best_val_step);
    CHECK(a.test_accuracy == b.test_accuracy);
    CHECK(a.final_test_accuracy == b.final_test_accuracy);
    CHECK(a.final_train_loss == b.final_train_loss);
    CHECK(a.train_tokens == b.train_tokens);
}

struct Fixture {
    RunSetup setup = checkpoint_setup();
    RunConfig& cfg = setup.config;
    std::unique_ptr<Task> task = make_task(cfg.task);
    Dataset data = load_or_generate(*task, cfg.task, cfg.seed);
};

}  // namespace

TEST_CASE("checkpoint: a run resumed from any of its checkpoints ends as the uninterrupted run") {
    Fixture f;
    std::map<int64_t, std::string> saved;  // step -> file bytes
    TrainHooks hooks;
    hooks.save = [&](const Checkpoint& c) { saved[c.progress.step] = encode_checkpoint(c); };
    const RunResult whole = train_and_evaluate(f.setup, *f.task, f.data, hooks);
    // Every 7 steps and at the end.
    CHECK(saved.size() == 5);
    for (int64_t step : {7, 14, 21, 28, 30}) CHECK(saved.count(step) == 1);
    // Without checkpoints (the default trainer call) the results are the same.
    check_same_results(whole, train_and_evaluate(f.setup, *f.task, f.data));
    for (const auto& entry : saved) {
        const int64_t step = entry.first;  // not a structured binding: clang's CAPTURE cannot
        CAPTURE(step);                     // refer to one from its lambda
        Checkpoint c = decode_checkpoint(entry.second, "mem.ckpt");
        CHECK(c.progress.status == (step == 30 ? "completed" : "running"));
        TrainHooks resume;
        resume.resume = &c;
        check_same_results(whole, train_and_evaluate(f.setup, *f.task, f.data, resume));
    }
}

TEST_CASE("checkpoint: a stop request saves a checkpoint that resumes to the uninterrupted run") {
    Fixture f;
    const RunResult whole = train_and_evaluate(f.setup, *f.task, f.data);
    std::string bytes;
    TrainHooks hooks;
    hooks.save = [&](const Checkpoint& c) { bytes = encode_checkpoint(c); };
    hooks.progress = [](int64_t step, int64_t, double, double, double) {
        if (step == 12) g_stop_requested = true;  // as SIGTERM does, between steps
    };
    const RunResult stopped = train_and_evaluate(f.setup, *f.task, f.data, hooks);
    g_stop_requested = false;
    CHECK(stopped.status == "interrupted");
    CHECK(stopped.steps_done == 13);
    Checkpoint c = decode_checkpoint(bytes, "mem.ckpt");
    CHECK(c.progress.status == "interrupted");
    CHECK(c.progress.step == 13);
    TrainHooks resume;
    resume.resume = &c;
    check_same_results(whole, train_and_evaluate(f.setup, *f.task, f.data, resume));
}

TEST_CASE("checkpoint: the file round-trips byte for byte and refuses damaged copies") {
    Fixture f;
    f.cfg.train.steps = 10;
    std::string bytes;
    TrainHooks hooks;
    hooks.save = [&](const Checkpoint& c) { bytes = encode_checkpoint(c); };
    train_and_evaluate(f.setup, *f.task, f.data, hooks);
    const Checkpoint c = decode_checkpoint(bytes, "a.ckpt");
    CHECK(encode_checkpoint(c) == bytes);
    CHECK(c.config == to_json(f.cfg));
    CHECK(c.progress.step == 10);
    CHECK(c.progress.result.history.size() == 1);
    CHECK(c.names.size() == c.params.size());
    CHECK(c.best.size() == c.params.size());
    CHECK(c.adam_m.size() == c.params.size());

    auto error_of = [](const std::string& b) {
        try {
            decode_checkpoint(b, "a.ckpt");
        } catch (const DataError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    std::string flipped = bytes;
    flipped[bytes.size() / 2] ^= 0x10;
    CHECK(error_of(flipped) == "a.ckpt: corrupt checkpoint (CRC-32 mismatch)");
    CHECK(error_of(bytes.substr(0, bytes.size() - 1)).find("a.ckpt: truncated checkpoint") == 0);
    CHECK(error_of(bytes.substr(0, 10)).find("a.ckpt: not an xformer-bench checkpoint") == 0);
    std::string other_version = bytes;
    other_version[8] = 2;
    CHECK(error_of(other_version) ==
          "a.ckpt: checkpoint format version 2; this build reads version 1 only");
}

TEST_CASE("checkpoint: configs differ in the keys that change results, checkpoint_every aside") {
    RunConfig a = checkpoint_setup().config, b = a;
    b.optim.lr = 0.5;
    b.train.checkpoint_every = 3;
    b.model.attention.options = {{"window", 4}};
    const std::vector<std::string> keys = differing_config_keys(to_json(a), to_json(b));
    CHECK(keys == std::vector<std::string>{"model.attention.options.window", "optim.lr"});
    CHECK(differing_config_keys(to_json(a), to_json(a)).empty());
}

TEST_SUITE_END();
