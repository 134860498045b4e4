// Fuzzes the report reader of `compare` and the tables it builds from what it read.
#include "fuzz_support.h"
#include "report/report_set.h"
#include "report/table_format.h"
#include "report/tables.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = xb::fuzz::write_file(xb::fuzz::fresh_dir() / "report.json",
                                                  xb::fuzz::as_string(data, size));
    xb::fuzz::accept_user_errors([&] {
        xb::ReportSet set = xb::load_reports({path});
        xb::table_markdown(xb::accuracy_table(set));
        xb::table_latex(xb::efficiency_table(set, "full"));
    });
    return 0;
}
