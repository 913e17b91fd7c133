// Typed access to a JSON document that knows where it is: every failure names the file and the JSON
// pointer of the field ("base.json: /rows/3/busbw_gbps: expected a number, got the string \"fast\"").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace fabtwin::results {

class Field {
 public:
  Field(const nlohmann::json& j, std::string origin, std::string path = "");

  [[noreturn]] void fail(const std::string& what) const;

  Field at(const std::string& key) const;  // a required member of an object
  std::optional<Field> find(const std::string& key) const;
  Field at(std::size_t index) const;
  std::size_t array_size() const;  // fails unless an array
  void expect_object() const;

  std::string string() const;
  std::uint64_t unsigned_integer() const;
  std::int64_t integer() const;
  double number() const;  // finite
  const nlohmann::json& json() const { return j_; }
  const std::string& path() const { return path_; }

 private:
  const nlohmann::json& j_;
  std::string origin_;
  std::string path_;
};

// "the string \"x\"", "an object", "null": what a field holds, for messages.
std::string describe(const nlohmann::json& j);

}  // namespace fabtwin::results
