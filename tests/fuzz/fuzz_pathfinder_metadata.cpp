// Fuzzes the Pathfinder metadata reader: the input is metadata/0.npy of a folder that also
// holds one valid 32 x 32 image, imgs/0/sample_0.png.
#include "fuzz_support.h"
#include "tasks/formats/pathfinder_dir.h"
#include "tasks/formats/png_gray.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto root = xb::fuzz::fresh_dir();
    std::filesystem::create_directories(root / "imgs/0");
    xb::write_png_gray((root / "imgs/0/sample_0.png").string(),
                       {32, 32, std::vector<uint8_t>(32 * 32, 128)});
    xb::fuzz::write_file(root / "metadata/0.npy", xb::fuzz::as_string(data, size));
    xb::fuzz::accept_user_errors([&] { xb::read_pathfinder_dir(root.string(), 32); });
    return 0;
}
