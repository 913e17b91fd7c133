// Every file fabtwin reads or writes goes through here, so that no input can crash, hang or exhaust
// the process and no output is ever left half-written or written over an input.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace fabtwin {

// Inputs larger than this are refused before they are parsed: the largest real input (a results file
// of a long sweep, a topology of 100k nodes) is a few hundred MiB at most.
inline constexpr std::uint64_t kMaxInputBytes = std::uint64_t{512} << 20;
// Deeper nesting is never meaningful in fabtwin's formats (they nest 4 levels) and, unbounded,
// overflows the stack of anything that walks the document.
inline constexpr int kMaxJsonDepth = 64;

// The whole file, or std::invalid_argument naming it: missing, a folder, unreadable, over `max_bytes`.
// `what` says what the file is for ("results file", "topology file") in the message.
// `path` "-" is standard input, refused when it is a terminal (nothing would end the wait).
std::string read_input_file(const std::string& path, std::string_view what,
                            std::uint64_t max_bytes = kMaxInputBytes);
std::string read_standard_input(std::string_view what, std::uint64_t max_bytes = kMaxInputBytes);

// A JSON document, or std::invalid_argument naming `origin`, the line and what is wrong: not JSON,
// nested deeper than kMaxJsonDepth, a number out of range.
nlohmann::json parse_json_text(std::string_view text, const std::string& origin);

// JSON text of a document built from inputs: bytes that are not UTF-8 (a log's device name, a
// mangled file) become U+FFFD instead of making the writer throw.
std::string dump_json(const nlohmann::json& j, int indent = -1);

// Writes `content` to a temporary file beside `path`, flushes it to disk and renames it over `path`:
// readers see the old file or the new one, never a part. Throws std::invalid_argument naming the file.
void write_file_atomically(const std::string& path, std::string_view content);

// Appends `line` plus a newline in one write, so concurrent appenders never interleave a record.
void append_line(const std::string& path, std::string_view line);

// An option and the path it names, for refusing an output that would replace an input.
struct NamedPath {
  std::string option;
  std::string path;
};
// Throws std::invalid_argument naming both options when an output is the same file as an input (or
// another output). Paths "-" and "" (standard streams, not given) never clash.
void refuse_overwriting_inputs(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs);

}  // namespace fabtwin
