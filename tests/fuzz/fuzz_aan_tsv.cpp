// Fuzzes the AAN TSV reader (the LRA retrieval files new_aan_pairs.*.tsv).
#include "fuzz_support.h"
#include "tasks/formats/aan_tsv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = xb::fuzz::write_file(xb::fuzz::fresh_dir() / "new_aan_pairs.train.tsv",
                                                  xb::fuzz::as_string(data, size));
    xb::fuzz::accept_user_errors([&] { xb::read_aan_tsv(path, 4000); });
    return 0;
}
