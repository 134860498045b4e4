// The IMDb "aclImdb" directory layout used by LRA's text task: <root>/{train,test}/{pos,neg}/
// <id>_<rating>.txt, one review per file, label 1 = pos, 0 = neg. Reviews are bytes; tokens are
// byte + 1 (0 = padding), truncated to max_len.
#pragma once
#include <string>
#include <vector>

#include "tasks/task.h"

namespace xb {

// Reads <split_dir>/{pos,neg}/*.txt in order of the numeric id before '_' (then pos before neg,
// then file name). DataError naming the directory if it or pos/ or neg/ is missing, or if it
// holds no .txt file.
std::vector<Example> read_imdb_split(const std::string& split_dir, int max_len);

// Writes example i as <split_dir>/{pos,neg}/<i>_<10 or 1>.txt (IMDb's naming: id_rating).
// DataError if a label is not 0 or 1.
void write_imdb_split(const std::string& split_dir, const std::vector<Example>& examples);

}  // namespace xb
