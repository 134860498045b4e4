// Fuzzes the CIFAR-10 binary batch reader.
#include "fuzz_support.h"
#include "tasks/formats/cifar_bin.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = xb::fuzz::write_file(xb::fuzz::fresh_dir() / "data_batch_1.bin",
                                                  xb::fuzz::as_string(data, size));
    xb::fuzz::accept_user_errors([&] { xb::read_cifar_batch(path); });
    return 0;
}
