// Fuzzes the ListOps TSV reader (the LRA files basic_{train,val,test}.tsv).
#include "fuzz_support.h"
#include "tasks/formats/listops_tsv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = xb::fuzz::write_file(xb::fuzz::fresh_dir() / "basic_train.tsv",
                                                  xb::fuzz::as_string(data, size));
    xb::fuzz::accept_user_errors([&] { xb::read_listops_tsv(path, 2000); });
    return 0;
}
