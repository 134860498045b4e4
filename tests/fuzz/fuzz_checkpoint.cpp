// Fuzzes the checkpoint reader (`run` resuming, `evaluate`). Each input is read as a whole file
// and, since a CRC-32 stops nearly every mutation at the header, its payload (the bytes after a
// checkpoint header, or all of them) again behind a header with the right length and CRC.
#include <zlib.h>

#include <cstring>

#include "fuzz_support.h"
#include "train/checkpoint.h"

namespace {

std::string with_valid_header(const std::string& payload) {
    std::string file("XBCKPT\0\0", 8);
    const uint32_t version = xb::kCheckpointVersion;
    const uint32_t crc =
        uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(payload.data()), uInt(payload.size())));
    const uint64_t length = payload.size();
    file.append(reinterpret_cast<const char*>(&version), 4);
    file.append(reinterpret_cast<const char*>(&crc), 4);
    file.append(reinterpret_cast<const char*>(&length), 8);
    return file + payload;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string bytes = xb::fuzz::as_string(data, size);
    const bool has_header = size >= 24 && std::memcmp(data, "XBCKPT\0\0", 8) == 0;
    for (const std::string& file :
         {bytes, with_valid_header(has_header ? bytes.substr(24) : bytes)}) {
        const std::string path = xb::fuzz::write_file(xb::fuzz::fresh_dir() / "r.json.ckpt", file);
        xb::fuzz::accept_user_errors([&] { xb::read_checkpoint(path); });
    }
    return 0;
}
