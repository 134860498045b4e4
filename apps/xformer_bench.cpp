// xformer-bench: entry point. (Skeleton: subcommands are added in the following commits.)
#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
    CLI::App app{"xformer-bench: Long Range Arena style benchmarks for efficient transformers"};
    CLI11_PARSE(app, argc, argv);
    return 0;
}
