// Where a parsed run config meets the registries: the one place that checks a config against
// the variant and task registries and resolves its variant, once, for the model to use.
// Below it, config/ is plain data (parsing, strict keys, field rules) and knows no variant or
// task; above it, train/ and apps/ take a RunSetup and never look a variant up by name.
#pragma once
#include <string>
#include <vector>

#include "attention/mixer.h"
#include "config/run_config.h"

namespace xb {

// A validated config and the registry entry of its variant (never null).
struct RunSetup {
    RunConfig config;
    const VariantEntry* variant = nullptr;  // config.model.attention.variant, resolved
};

// Config file (path "" = no file, the defaults) + `--set` overrides -> checked setup. variant,
// when not empty, replaces model.attention.variant after the overrides (`--variant NAME`).
RunSetup load_run_setup(const std::string& path, const std::vector<std::string>& overrides,
                        const std::string& variant = "");
// The same for config text; `where` names it in messages.
RunSetup run_setup_from_text(const std::string& text, const std::string& where,
                             const std::vector<std::string>& overrides,
                             const std::string& variant = "");
// Config JSON (overrides applied) -> checked setup: strict parsing, the sizes of the named task
// that the JSON leaves out, then check_run_setup.
RunSetup run_setup_from_json(const nlohmann::json& j, const std::string& variant = "");
// A complete config (a checkpoint's, or one a command changed): validate() (config/run_config.h),
// then the task's name and options and the variant's name and options, so that they fail before
// any data is made. Throws ConfigError naming the key and the valid choices.
RunSetup check_run_setup(const RunConfig& cfg);

}  // namespace xb
