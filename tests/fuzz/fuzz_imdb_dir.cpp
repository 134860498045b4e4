// Fuzzes the aclImdb split reader: each input line "NAME<TAB>TEXT" becomes a review file, in
// pos/ when the line number is even and neg/ when odd (NAME keeps only [A-Za-z0-9_.-]).
#include <sstream>

#include "fuzz_support.h"
#include "tasks/formats/imdb_dir.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto root = xb::fuzz::fresh_dir();
    std::filesystem::create_directories(root / "pos");
    std::filesystem::create_directories(root / "neg");
    std::istringstream lines(xb::fuzz::as_string(data, size));
    int n = 0;
    for (std::string line; std::getline(lines, line) && n < 64; ++n) {
        const size_t tab = line.find('\t');
        std::string name;
        for (char c : line.substr(0, tab))
            if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')
                name += c;
        if (name.empty() || name == "." || name == "..") name = std::to_string(n) + "_1.txt";
        xb::fuzz::write_file(root / (n % 2 ? "neg" : "pos") / name,
                             tab == std::string::npos ? "" : line.substr(tab + 1));
    }
    xb::fuzz::accept_user_errors([&] { xb::read_imdb_split(root.string(), 4000); });
    return 0;
}
