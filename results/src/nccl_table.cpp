#include "nccl_table.hpp"

#include <cmath>

#include "fabtwin/results/results.hpp"
#include "nccl_tests_words.hpp"

namespace fabtwin::results::nccl_words {

namespace {

const std::vector<std::string> kPerIteration = {"i_min", "i_max", "i_p99", "i_cv%"};

// Reads `want` at `at`, advancing past it; false (and `at` unchanged) when the words differ there.
bool take(const std::vector<std::string>& words, std::size_t& at, const std::vector<std::string>& want) {
  if (at + want.size() > words.size()) return false;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (words[at + i] != want[i]) return false;
  }
  at += want.size();
  return true;
}

std::size_t half_fields(const TableLayout& l) {
  return 4 + (l.per_iteration ? kPerIteration.size() : 0);
}

}  // namespace

std::size_t TableLayout::fields() const {
  return 3 + (redop ? 1 : 0) + (root ? 1 : 0) + static_cast<std::size_t>(halves) * half_fields(*this) +
         (extras ? 3 : 0) + (timestamp ? 2 : 0);
}

std::string TableLayout::describe() const {
  std::string s = "size count type";
  if (redop) s += " redop";
  if (root) s += " root";
  for (int h = 0; h < halves; ++h) {
    s += std::string(cputime ? " cputime" : " time") + " algbw busbw" + (error_column ? " error" : " #wrong");
    if (per_iteration) s += " i_min i_max i_p99 i_cv%";
  }
  if (extras) s += " algo proto nchannels";
  if (timestamp) s += " timestamp";
  return s;
}

std::optional<TableLayout> table_layout(const std::vector<std::string>& words) {
  TableLayout l;
  std::size_t at = 0;
  if (!take(words, at, {"size", "count", "type"})) return std::nullopt;
  l.redop = take(words, at, {"redop"});
  l.root = take(words, at, {"root"});
  l.halves = 0;
  while (l.halves < 2 && at < words.size() && (words[at] == "time" || words[at] == "cputime")) {
    const bool cpu = words[at] == "cputime";
    ++at;
    if (!take(words, at, {"algbw", "busbw"}) || at == words.size()) return std::nullopt;
    const bool error = words[at] == "error";
    if (!error && words[at] != "#wrong") return std::nullopt;
    ++at;
    const bool per_iteration = take(words, at, kPerIteration);
    if (l.halves > 0 && (cpu != l.cputime || error != l.error_column || per_iteration != l.per_iteration)) {
      return std::nullopt;
    }
    l.cputime = cpu;
    l.error_column = error;
    l.per_iteration = per_iteration;
    ++l.halves;
  }
  if (l.halves == 0 || (l.error_column && l.per_iteration)) return std::nullopt;
  l.extras = take(words, at, {"algo", "proto", "nchannels"});
  l.timestamp = take(words, at, {"timestamp"});
  if (at != words.size()) return std::nullopt;
  return l;
}

namespace {

class RowReader {
 public:
  RowReader(const std::vector<std::string>& words, const std::string& where) : t_(words), where_(where) {}

  [[noreturn]] void fail(const std::string& what) const { throw InvalidResults(where_ + ": " + what); }

  std::uint64_t whole(std::size_t i, const char* what) const {
    const auto v = whole_number(t_[i]);
    if (!v) fail(std::string(what) + " \"" + t_[i] + "\" is not a whole number below 10^19");
    return *v;
  }

  double number(std::size_t i, const char* what) const {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(t_[i], &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != t_[i].size() || !std::isfinite(v) || v < 0) {
      fail(std::string(what) + " \"" + t_[i] + "\" is not a non-negative number");
    }
    return v;
  }

  // One half: time algbw busbw #wrong [i_min i_max i_p99 i_cv%], from word `i`.
  ParsedTiming half(const TableLayout& l, std::size_t i, std::uint64_t size, const char* which) const {
    ParsedTiming h;
    bool all_na = true;
    for (std::size_t k = 0; k < half_fields(l); ++k) all_na = all_na && t_[i + k] == "N/A";
    if (all_na) {
      h.present = false;
      return h;
    }
    const std::string what = std::string(which) + " time, algbw or busbw";
    h.time_us = number(i, what.c_str());
    h.algbw = number(i + 1, what.c_str());
    h.busbw = number(i + 2, what.c_str());
    h.time_precision = printed_precision(t_[i]) / std::max(h.time_us, 1e-300);
    h.wrong = t_[i + 3];
    if (l.error_column) {
      h.error = t_[i + 3];
      h.wrong = "N/A";  // a relative error is not a count of wrong elements: not a check we can carry
    }
    if (l.cputime) {
      // The bandwidths come from the GPU time nccl-tests does not print; algbw gives it back.
      h.cputime_us = h.time_us;
      h.time_us = h.algbw > 0 ? static_cast<double>(size) / (h.algbw * 1e3) : 0;
      h.time_precision = printed_precision(t_[i + 1]) / std::max(h.algbw, 1e-300);
    }
    for (std::size_t k = 0; l.per_iteration && k < kPerIteration.size(); ++k) {
      h.per_iteration.push_back(number(i + 4 + k, (std::string(which) + " " + kPerIteration[k]).c_str()));
    }
    return h;
  }

 private:
  const std::vector<std::string>& t_;
  std::string where_;
};

}  // namespace

ParsedRow parse_row(const TableLayout& l, const std::vector<std::string>& t, int line,
                    const std::string& where) {
  const RowReader read(t, where);
  if (t.size() != l.fields()) {
    read.fail("table row with " + std::to_string(t.size()) + " fields, expected " +
              std::to_string(l.fields()) + " (" + l.describe() + "; truncated line?)");
  }
  ParsedRow r;
  r.line = line;
  std::size_t at = 0;
  r.size = read.whole(at++, "size");
  r.count = read.whole(at++, "count");
  r.type = t[at++];
  r.redop = l.redop ? t[at++] : "none";
  if (l.root) {
    try {
      std::size_t used = 0;
      r.root = std::stoi(t[at], &used);
      if (used != t[at].size()) throw std::invalid_argument("not a whole number");
    } catch (const std::exception&) {
      read.fail("root \"" + t[at] + "\" is not a rank");
    }
    ++at;
  }
  const std::size_t half = half_fields(l);
  if (l.halves == 2) {
    r.out_of_place = read.half(l, at, r.size, "out-of-place");
    r.in_place = read.half(l, at + half, r.size, "in-place");
  } else {
    ParsedTiming& printed = l.single_half_in_place ? r.in_place : r.out_of_place;
    ParsedTiming& absent = l.single_half_in_place ? r.out_of_place : r.in_place;
    printed = read.half(l, at, r.size, l.single_half_in_place ? "in-place" : "out-of-place");
    absent.present = false;
  }
  at += static_cast<std::size_t>(l.halves) * half;
  if (l.extras) {
    r.algo = t[at];
    r.proto = t[at + 1];
    r.channels = t[at + 2];
    at += 3;
  }
  if (l.timestamp) r.timestamp = t[at] + " " + t[at + 1];
  if (!r.out_of_place.present && !r.in_place.present) read.fail("both halves of the row are N/A");
  return r;
}

}  // namespace fabtwin::results::nccl_words
