// Run configuration: JSON mapping, strict checking, overrides and field rules.
#include "config/run_config.h"

#include <cstdint>

#include "core/check.h"
#include "core/errors.h"
#include "core/file_io.h"
#include "core/json_text.h"

namespace xb {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TaskConfig, name, data_dir, max_len, n_train, n_val,
                                                n_test, options)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(AttentionConfig, variant, dropout, options)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ModelConfig, layers, dim, heads, ffn_dim,
                                                classifier_dim, dropout, pooling, positions,
                                                embed_scale, attention)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(OptimGroupConfig, lr, weight_decay)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(OptimGroups, ssm)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(OptimConfig, lr, weight_decay, decay_all, beta1,
                                                beta2, eps, schedule, warmup_steps, min_lr_ratio,
                                                clip_norm, groups)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TrainConfig, batch_size, steps, eval_every,
                                                eval_batches, threads, checkpoint_every)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RunConfig, seed, task, model, optim, train)

nlohmann::json to_json(const RunConfig& cfg) { return nlohmann::json(cfg); }

const OptimGroupConfig* find_optim_group(const OptimConfig& cfg, const std::string& group) {
    if (group.empty()) return nullptr;
    if (group == "ssm") return &cfg.groups.ssm;
    XB_CHECK(false, "parameter group '{}' has no entry in OptimGroups", group);
    return nullptr;
}

namespace {

const char* type_name(const nlohmann::json& j) {
    if (j.is_number_integer()) return "an integer";
    if (j.is_number()) return "a number";
    if (j.is_boolean()) return "true or false";
    if (j.is_string()) return "a string";
    if (j.is_object()) return "an object";
    if (j.is_array()) return "a list";
    return "null";
}

// An integer key whose value does not fit the field's type: named with the value as written,
// never narrowed (4294967312 must not become 16).
void check_int_range(const nlohmann::json& user, const nlohmann::json& def,
                     const std::string& key) {
    if (!def.is_number_integer() || def.is_number_unsigned() || !user.is_number()) return;
    const bool fits =
        user.is_number_unsigned() ? user.get<uint64_t>() <= uint64_t(INT32_MAX)
        : user.is_number_integer()
            ? user.get<int64_t>() >= INT32_MIN && user.get<int64_t>() <= INT32_MAX
            : user.get<double>() >= double(INT32_MIN) && user.get<double>() <= double(INT32_MAX);
    if (!fits)
        throw ConfigError(fmt::format("{}={}: out of range (valid: {} to {})", key, user.dump(),
                                      INT32_MIN, INT32_MAX));
}

bool same_kind(const nlohmann::json& user, const nlohmann::json& def) {
    if (def.is_number_integer()) {
        if (user.is_number_integer()) return !(def.is_number_unsigned() && user.get<int64_t>() < 0);
        return user.is_number_float() && user.get<double>() == double(int64_t(user.get<double>()));
    }
    if (def.is_number()) return user.is_number();
    return user.type() == def.type();
}

// Every user key must exist in the defaults with a compatible type. `options` objects are
// free-form here: the task or variant that owns them reads them strictly.
void check_against_defaults(const nlohmann::json& user, const nlohmann::json& def,
                            const std::string& path) {
    if (!user.is_object())
        throw ConfigError(fmt::format("{}: expected an object, got {}",
                                      path.empty() ? "config" : path, user.dump()));
    for (auto it = user.begin(); it != user.end(); ++it) {
        std::string key = path.empty() ? it.key() : path + "." + it.key();
        auto d = def.find(it.key());
        if (key == "model.head_dim")  // the old, misleading name of classifier_dim
            throw ConfigError(
                "model.head_dim: renamed to model.classifier_dim (the hidden width of the "
                "classifier MLP; 0 = ffn_dim)");
        if (d == def.end()) {
            std::vector<std::string> valid;
            for (auto k = def.begin(); k != def.end(); ++k) valid.push_back(k.key());
            throw ConfigError(fmt::format("{}: unknown key (valid: {})", key, join_names(valid)));
        }
        if (it.key() == "options") {
            if (!it->is_object())
                throw ConfigError(fmt::format("{}: expected an object, got {}", key, it->dump()));
            continue;
        }
        if (d->is_object()) {
            check_against_defaults(*it, *d, key);
        } else if (check_int_range(*it, *d, key), !same_kind(*it, *d)) {
            throw ConfigError(fmt::format(
                "{}: expected {}, got {}", key,
                d->is_number_unsigned() ? "a non-negative integer" : type_name(*d), it->dump()));
        }
    }
}

}  // namespace

RunConfig config_from_json(const nlohmann::json& j) {
    check_against_defaults(j, to_json(RunConfig{}), "");
    RunConfig cfg;
    try {
        cfg = j.get<RunConfig>();
    } catch (const nlohmann::json::exception& e) {
        throw ConfigError(fmt::format("config: {}", e.what()));
    }
    return cfg;
}

nlohmann::json parse_json_located(const std::string& text, const std::string& where) {
    try {
        return parse_json(text, where);
    } catch (const nlohmann::json::parse_error& e) {
        // Turn the byte offset into line:column.
        size_t line = 1, col = 1;
        for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
            if (text[i] == '\n') {
                ++line;
                col = 1;
            } else {
                ++col;
            }
        }
        throw ConfigError(fmt::format("{}:{}:{}: invalid JSON", where, line, col));
    }
}

nlohmann::json read_json_file(const std::string& path) {
    return parse_json_located(read_file_bytes(path), path);
}

void apply_override(nlohmann::json& j, const std::string& assignment) {
    try {  // keys and bare-word values become JSON strings, which must be UTF-8
        (void)nlohmann::json(assignment).dump();
    } catch (const nlohmann::json::type_error&) {
        throw ConfigError("--set: an override is not valid UTF-8 text");
    }
    size_t eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
        throw ConfigError(
            fmt::format("--set '{}': expected key.path=value, e.g. model.layers=4", assignment));
    std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
    nlohmann::json value;
    try {
        value = parse_json(text, fmt::format("--set '{}'", assignment));
    } catch (const nlohmann::json::parse_error&) {
        value = text;  // a bare word such as `cosine` or `bigbird`
    }
    nlohmann::json* node = &j;
    size_t start = 0;
    while (true) {
        size_t dot = path.find('.', start);
        std::string key = path.substr(start, dot == std::string::npos ? dot : dot - start);
        if (key.empty())
            throw ConfigError(fmt::format("--set '{}': empty key in path", assignment));
        if (!node->is_object()) *node = nlohmann::json::object();
        if (dot == std::string::npos) {
            (*node)[key] = value;
            return;
        }
        node = &(*node)[key];
        start = dot + 1;
    }
}

nlohmann::json config_json_from_text(const std::string& text, const std::string& where,
                                     const std::vector<std::string>& overrides) {
    nlohmann::json j = parse_json_located(text, where);
    if (!j.is_object())
        throw ConfigError(fmt::format("{}: the config must be a JSON object", where));
    for (const auto& o : overrides) apply_override(j, o);
    return j;
}

static void require(bool ok, const std::string& message) {
    if (!ok) throw ConfigError(message);
}

void validate(const RunConfig& c) {
    const ModelConfig& m = c.model;
    require(m.layers >= 1, fmt::format("model.layers={} must be at least 1", m.layers));
    require(m.dim >= 1, fmt::format("model.dim={} must be positive", m.dim));
    require(m.heads >= 1, fmt::format("model.heads={} must be positive", m.heads));
    require(m.dim % m.heads == 0,
            fmt::format("model.heads={} must divide model.dim={}", m.heads, m.dim));
    require(m.ffn_dim >= 1, fmt::format("model.ffn_dim={} must be positive", m.ffn_dim));
    require(m.classifier_dim >= 0,
            fmt::format("model.classifier_dim={} must be >= 0", m.classifier_dim));
    require(m.dropout >= 0 && m.dropout < 1,
            fmt::format("model.dropout={} must be in [0, 1)", m.dropout));
    require(m.attention.dropout >= 0 && m.attention.dropout < 1,
            fmt::format("model.attention.dropout={} must be in [0, 1)", m.attention.dropout));
    require(m.pooling == "mean" || m.pooling == "cls",
            fmt::format("model.pooling: unknown value '{}' (valid: mean, cls)", m.pooling));
    require(m.positions == "sinusoidal" || m.positions == "learned" || m.positions == "none",
            fmt::format("model.positions: unknown value '{}' (valid: sinusoidal, learned, none)",
                        m.positions));
    require(m.embed_scale == "none" || m.embed_scale == "sqrt_dim",
            fmt::format("model.embed_scale: unknown value '{}' (valid: none, sqrt_dim)",
                        m.embed_scale));

    const OptimConfig& o = c.optim;
    require(o.lr > 0, fmt::format("optim.lr={} must be positive", o.lr));
    require(o.weight_decay >= 0, fmt::format("optim.weight_decay={} must be >= 0", o.weight_decay));
    require(o.beta1 >= 0 && o.beta1 < 1, fmt::format("optim.beta1={} must be in [0, 1)", o.beta1));
    require(o.beta2 >= 0 && o.beta2 < 1, fmt::format("optim.beta2={} must be in [0, 1)", o.beta2));
    require(o.eps > 0, fmt::format("optim.eps={} must be positive", o.eps));
    require(o.schedule == "constant" || o.schedule == "rsqrt" || o.schedule == "cosine",
            fmt::format("optim.schedule: unknown value '{}' (valid: constant, rsqrt, cosine)",
                        o.schedule));
    require(o.warmup_steps >= 0, fmt::format("optim.warmup_steps={} must be >= 0", o.warmup_steps));
    require(o.clip_norm >= 0,
            fmt::format("optim.clip_norm={} must be >= 0 (0 = off)", o.clip_norm));
    require(o.min_lr_ratio >= 0 && o.min_lr_ratio <= 1,
            fmt::format("optim.min_lr_ratio={} must be in [0, 1]", o.min_lr_ratio));
    const std::pair<const char*, const OptimGroupConfig*> groups[] = {{"ssm", &o.groups.ssm}};
    for (const auto& [name, g] : groups) {
        require(
            g->lr == -1 || g->lr > 0,
            fmt::format("optim.groups.{}.lr={} must be positive (or -1 = optim.lr)", name, g->lr));
        require(g->weight_decay == -1 || g->weight_decay >= 0,
                fmt::format("optim.groups.{}.weight_decay={} must be >= 0 (or -1 = "
                            "optim.weight_decay)",
                            name, g->weight_decay));
    }

    const TrainConfig& t = c.train;
    require(t.batch_size >= 1, fmt::format("train.batch_size={} must be positive", t.batch_size));
    require(t.steps >= 1, fmt::format("train.steps={} must be positive", t.steps));
    require(t.eval_every >= 1, fmt::format("train.eval_every={} must be positive", t.eval_every));
    require(t.eval_batches >= 0,
            fmt::format("train.eval_batches={} must be >= 0 (0 = all)", t.eval_batches));
    require(t.threads >= 0,
            fmt::format("train.threads={} must be >= 0 (0 = all cores)", t.threads));
    require(t.checkpoint_every >= 0,
            fmt::format("train.checkpoint_every={} must be >= 0 (0 = only when stopped and at "
                        "the end)",
                        t.checkpoint_every));

    const TaskConfig& k = c.task;
    require(k.max_len >= 1, fmt::format("task.max_len={} must be positive", k.max_len));
    require(k.n_train >= 1, fmt::format("task.n_train={} must be positive", k.n_train));
    require(k.n_val >= 1, fmt::format("task.n_val={} must be positive", k.n_val));
    require(k.n_test >= 1, fmt::format("task.n_test={} must be positive", k.n_test));
}

}  // namespace xb
