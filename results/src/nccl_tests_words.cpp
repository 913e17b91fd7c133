#include "nccl_tests_words.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <sstream>

namespace fabtwin::results::nccl_words {

std::vector<std::string> tokens(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string t; in >> t;) out.push_back(t);
  return out;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::optional<std::uint64_t> element_size(const std::string& type) {
  static const std::map<std::string, std::uint64_t> sizes = {
      {"int8", 1},  {"uint8", 1},  {"f8e4m3", 1}, {"f8e5m2", 1}, {"half", 2},   {"bfloat16", 2},
      {"int32", 4}, {"uint32", 4}, {"float", 4},  {"int64", 8},  {"uint64", 8}, {"double", 8}};
  const auto it = sizes.find(type);
  if (it == sizes.end()) return std::nullopt;
  return it->second;
}

std::optional<coll::Collective> collective_of_binary(const std::string& binary) {
  static const std::map<std::string, coll::Collective> names = {
      {"all_reduce_perf", coll::Collective::all_reduce},
      {"all_gather_perf", coll::Collective::all_gather},
      {"reduce_scatter_perf", coll::Collective::reduce_scatter},
      {"broadcast_perf", coll::Collective::broadcast},
      {"reduce_perf", coll::Collective::reduce},
      {"alltoall_perf", coll::Collective::all_to_all}};
  auto it = names.find(binary);
  const auto perf = binary.find("_perf");
  if (it == names.end() && perf != std::string::npos) it = names.find(binary.substr(0, perf + 5));
  if (it == names.end()) return std::nullopt;
  return it->second;
}

bool count_is_whole_size(coll::Collective c) {
  return c == coll::Collective::all_reduce || c == coll::Collective::broadcast ||
         c == coll::Collective::reduce;
}

std::optional<std::uint64_t> whole_number(const std::string& text) {
  // Digits only: stoull alone would take "-1" as 2^64-1.
  if (text.empty() || text.size() > 19 ||
      !std::all_of(text.begin(), text.end(), [](unsigned char ch) { return std::isdigit(ch); })) {
    return std::nullopt;
  }
  return std::stoull(text);
}

bool looks_like_a_row(const std::string& line) {
  const auto c = static_cast<unsigned char>(line[0]);
  return std::isdigit(c) || c == '-' || c == '+' || line.rfind("N/A", 0) == 0 || line.rfind("nan", 0) == 0 ||
         line.rfind("inf", 0) == 0;
}

double printed_precision(const std::string& number) {
  const auto e = number.find_first_of("eE");
  const std::string mantissa = number.substr(0, e);
  const auto dot = mantissa.find('.');
  const int decimals = dot == std::string::npos ? 0 : static_cast<int>(mantissa.size() - dot - 1);
  int exponent = 0;
  if (e != std::string::npos) {
    try {
      exponent = std::stoi(number.substr(e + 1));
    } catch (const std::exception&) {
      exponent = 0;
    }
  }
  return 0.5 * std::pow(10.0, std::clamp(exponent - decimals, -300, 300));
}

}  // namespace fabtwin::results::nccl_words
