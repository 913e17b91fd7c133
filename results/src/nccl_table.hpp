// The columns of an nccl-tests result table, read from its header line, and a row split by them.
// Every layout nccl-tests (2.0 to 2.19) and rccl-tests print is one set of choices below, so a table is
// read by what its header says, never by the version line (published tables rarely have one).
// Internal to the importer.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "nccl_rows.hpp"

namespace fabtwin::results::nccl_words {

struct TableLayout {
  bool redop = true;          // 2.11 and earlier print no redop for all_gather or broadcast
  bool root = true;           // ... and no root for any collective but broadcast and reduce
  bool error_column = false;  // 2.11 and earlier: a maximum relative error where #wrong is now
  int halves = 2;             // rccl-tests -O 0 prints the in-place half only
  bool single_half_in_place = true;
  bool per_iteration = false;  // -I: i_min i_max i_p99 i_cv% after each half (2.19.2+)
  bool cputime = false;        // -C: the time columns are CPU time, the bandwidths GPU time's
  bool extras = false;         // algo proto nchannels (fabtwin, rccl-tests -M)
  bool timestamp = false;      // -S: the date and time the row was printed (2.17.6+)

  std::size_t fields() const;
  // "size count type redop root time algbw busbw #wrong ..." as the header printed it.
  std::string describe() const;
};

// The layout of a header line's words (after '#'), or nullopt when it is not one nccl-tests prints.
std::optional<TableLayout> table_layout(const std::vector<std::string>& columns);

// A row's words split by `layout`. Throws InvalidResults prefixed by `where` ("log.txt:12") naming the
// field that is not what nccl-tests prints.
ParsedRow parse_row(const TableLayout& layout, const std::vector<std::string>& words, int line,
                    const std::string& where);

}  // namespace fabtwin::results::nccl_words
