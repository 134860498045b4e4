// Fuzzes the PNG reader used for Pathfinder images (32 x 32 expected).
#include "fuzz_support.h"
#include "tasks/formats/png_gray.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = xb::fuzz::write_file(xb::fuzz::fresh_dir() / "sample_0.png",
                                                  xb::fuzz::as_string(data, size));
    xb::fuzz::accept_user_errors([&] { xb::read_png_gray(path, 32, 32); });
    return 0;
}
