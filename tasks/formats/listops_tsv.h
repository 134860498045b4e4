// The LRA ListOps TSV format (lra_benchmarks/data/listops.py, listops/input_pipeline.py): a
// `Source\tTarget` header, then one fully parenthesised expression and its value 0-9 per line.
// Also the fixed 17-id vocabulary, the LRA tokenisation (drop parentheses, split on whitespace),
// the exact LRA left-nested writer, and evaluation of a token sequence.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tasks/task.h"

namespace xb {

// Token ids. LRA builds its vocabulary from a Python set, so its ids change from run to run;
// ours are fixed. The OOV id exists only so vocab_size matches LRA's 17: files with unknown
// tokens are rejected rather than mapped to it.
constexpr int32_t kListOpsPad = 0;
constexpr int32_t kListOpsDigit0 = 1;  // digit d has id kListOpsDigit0 + d (ids 1..10)
constexpr int32_t kListOpsMin = 11;
constexpr int32_t kListOpsMax = 12;
constexpr int32_t kListOpsMed = 13;
constexpr int32_t kListOpsSumMod = 14;
constexpr int32_t kListOpsEnd = 15;  // `]` (LRA's pipeline renames it `X`)
constexpr int32_t kListOpsOov = 16;
constexpr int kListOpsVocabSize = 17;
constexpr int kListOpsNumClasses = 10;

inline bool is_listops_operator(int32_t id) { return id >= kListOpsMin && id <= kListOpsSumMod; }
inline bool is_listops_digit(int32_t id) {
    return id >= kListOpsDigit0 && id < kListOpsDigit0 + 10;
}

// "[MAX", "]", "7", "<pad>", "<oov>"; "<bad>" for ids outside the vocabulary.
const char* listops_token_text(int32_t id);
// The id of one source symbol ("[MIN", "]", "3", ...), or -1 when it is not in the vocabulary.
int32_t listops_token_id(std::string_view text);

// Empty when `tokens` is exactly one complete prefix tree (operator tokens open a node, `]`
// closes it, every node has at least one argument); otherwise what is wrong with it.
std::string listops_tree_error(const std::vector<int32_t>& tokens);

// The value 0-9 of a complete tree, as LRA's to_value: MIN, MAX, MED = int(np.median) (the mean
// of the two middle values, truncated, for an even count), SM = sum mod 10. DataError if the
// tokens are not a complete tree.
int evaluate_listops(const std::vector<int32_t>& tokens);

// LRA's pipeline on one Source string: delete `(` and `)`, split on whitespace, look each symbol
// up. DataError (without a location) for unbalanced parentheses, an unknown symbol, an empty
// source or a malformed tree. The result is never truncated.
std::vector<int32_t> tokenize_listops_source(std::string_view source);

// The fully parenthesised Source string LRA writes for a tree: a node with operator op and
// arguments v0..vn is the left-nested tuple ((((op, v0), v1), ...), vn), END) with every tuple
// written `( left right )`, e.g. `( ( ( [MAX 2 ) 9 ) ] )`. DataError if not a complete tree.
std::string listops_tokens_to_source(const std::vector<int32_t>& tokens);

// The pipeline view, one symbol per token, e.g. `[MAX 2 9 ]`; works on truncated sequences too.
std::string listops_tokens_to_text(const std::vector<int32_t>& tokens);

// Reads one split. Any malformed line aborts the load with a DataError naming `path:line`;
// a missing or unreadable file is an IoError naming the path. Windows line endings and blank
// lines at the end of the file are accepted. Trees longer than max_len tokens are truncated to
// their first max_len tokens, as LRA's pipeline does (the full line is still validated first).
std::vector<Example> read_listops_tsv(const std::string& path, int max_len);

// Writes one split byte for byte as LRA's generator does (csv.writer with delimiter '\t' and
// its default "\r\n" line terminator; no field needs quoting). Written to a temporary file and
// renamed, so a failed write never leaves a partial split. DataError if an example is not a
// complete tree (e.g. it was truncated) or its label is not 0-9; IoError on write failure.
void write_listops_tsv(const std::string& path, const std::vector<Example>& examples);

}  // namespace xb
