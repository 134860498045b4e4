// The LRA retrieval (ACL Anthology Network) TSV format, new_aan_pairs.{train,eval,test}.tsv:
// no header, no quoting, tab-separated columns label, id1, id2, text1, text2; the label is
// parsed as a float and must be 0 or 1. Texts are bytes; tokens are byte + 1 (0 = padding),
// each document truncated to max_len.
#pragma once
#include <string>
#include <vector>

#include "tasks/task.h"

namespace xb {

// DataError naming path:line for a wrong column count, a non-numeric label or a label other
// than 0/1; naming the path for a missing or empty file.
std::vector<Example> read_aan_tsv(const std::string& path, int max_len);

// Writes label as "1.0"/"0.0", ids "<prefix><i>a" and "<prefix><i>b". DataError if a document
// holds a tab, newline or carriage return (it cannot be written unquoted) or a label is not 0/1.
void write_aan_tsv(const std::string& path, const std::vector<Example>& examples,
                   const std::string& id_prefix);

}  // namespace xb
