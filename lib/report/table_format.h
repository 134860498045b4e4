// Rendering a Table: Markdown (terminal, READMEs), CSV (spreadsheets), LaTeX booktabs (papers),
// JSON (scripts) and an HTML <table> (the HTML report). Every format shows the same numbers with
// the column's decimals; a cell without a value shows its status, never 0.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "report/tables.h"

namespace xb {

std::string table_markdown(const Table& t);
// Columns: label, then per table column: value, std, n (and ratio for efficiency tables). A
// cell without a value has its status in the value column and the rest empty.
std::string table_csv(const Table& t);
std::string table_latex(const Table& t);
nlohmann::json table_json(const Table& t);
std::string table_html(const Table& t);

// "45.21 ± 0.53", "12.30 (1.05×)"; status text when there is no value.
std::string cell_text(const TableCell& c, int decimals, const char* plus_minus = "±",
                      const char* times = "×");
std::string html_escape(const std::string& text);

}  // namespace xb
