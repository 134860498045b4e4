// The LRA Pathfinder directory layout (lra_benchmarks/data/pathfinder.py): <root>/metadata/*.npy
// are TEXT files, one image per line, space-separated fields: [0] subdirectory, [1] PNG file name,
// [2] image number, [3] label (0/1), then generator parameters. The image is
// <root>/<field 0>/<field 1>, an 8-bit grayscale PNG. Tokens are pixel + 1 (0 = padding).
#pragma once
#include <string>
#include <vector>

#include "tasks/task.h"

namespace xb {

// Reads every metadata file (in numeric order of the file stem, then name) and the PNGs they
// list, in order, decoding in parallel. DataError naming the file and line for a short line or a
// bad label, naming the PNG (and metadata line) for a missing or undecodable image or one that is
// not side x side; DataError if the metadata folder is missing or lists no image.
std::vector<Example> read_pathfinder_dir(const std::string& root, int side);

// Writes examples as imgs/<k>/sample_<i>.png with metadata/<k>.npy, 1000 images per folder.
void write_pathfinder_dir(const std::string& root, const std::vector<Example>& examples, int side);

}  // namespace xb
