// `xformer-bench list [tasks|variants]`: names and descriptions straight from the registries.
#include <fmt/format.h>

#include <memory>

#include "attention/mixer.h"
#include "commands.h"
#include "tasks/task.h"

namespace xb::app {

Runner setup_list(CLI::App& app) {
    auto what = std::make_shared<std::string>("all");
    auto* sub = app.add_subcommand("list", "List the registered tasks and attention variants");
    sub->add_option("what", *what, "tasks | variants | all")
        ->check(CLI::IsMember({"tasks", "variants", "all"}));
    return [what] {
        if (*what != "variants") {
            fmt::print("tasks:\n");
            for (const auto& t : task_registry())
                fmt::print("  {:<12} {}\n", t.name, t.description);
        }
        if (*what != "tasks") {
            fmt::print("variants:\n");
            for (const auto& v : variant_registry())
                fmt::print("  {:<12} {}\n", v.name, v.description);
        }
        return 0;
    };
}

}  // namespace xb::app
