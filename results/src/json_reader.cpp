#include "json_reader.hpp"

#include <cmath>

#include "fabtwin/results/results.hpp"

namespace fabtwin::results {

std::string describe(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::string: {
      std::string s = j.get<std::string>();
      if (s.size() > 40) s = s.substr(0, 40) + "...";
      return "the string \"" + s + "\"";
    }
    case nlohmann::json::value_t::boolean:
      return j.get<bool>() ? "true" : "false";
    default:
      return "the number " + j.dump();
  }
}

Field::Field(const nlohmann::json& j, std::string origin, std::string path)
    : j_(j), origin_(std::move(origin)), path_(std::move(path)) {}

void Field::fail(const std::string& what) const {
  throw InvalidResults(origin_ + ": " + (path_.empty() ? "/" : path_) + ": " + what);
}

void Field::expect_object() const {
  if (!j_.is_object()) fail("expected an object, got " + describe(j_));
}

Field Field::at(const std::string& key) const {
  expect_object();
  const auto it = j_.find(key);
  if (it == j_.end()) throw InvalidResults(origin_ + ": " + path_ + "/" + key + ": missing required field");
  return Field(*it, origin_, path_ + "/" + key);
}

std::optional<Field> Field::find(const std::string& key) const {
  expect_object();
  const auto it = j_.find(key);
  if (it == j_.end() || it->is_null()) return std::nullopt;
  return Field(*it, origin_, path_ + "/" + key);
}

std::size_t Field::array_size() const {
  if (!j_.is_array()) fail("expected an array, got " + describe(j_));
  return j_.size();
}

Field Field::at(std::size_t index) const {
  if (index >= array_size()) fail("index " + std::to_string(index) + " out of range");
  return Field(j_[index], origin_, path_ + "/" + std::to_string(index));
}

std::string Field::string() const {
  if (!j_.is_string()) fail("expected a string, got " + describe(j_));
  return j_.get<std::string>();
}

std::uint64_t Field::unsigned_integer() const {
  if (j_.is_number_unsigned()) return j_.get<std::uint64_t>();
  if (j_.is_number_integer() && j_.get<std::int64_t>() >= 0)
    return static_cast<std::uint64_t>(j_.get<std::int64_t>());
  if (j_.is_number_integer()) fail("expected a non-negative integer, got " + describe(j_));
  fail("expected an integer, got " + describe(j_));
}

std::int64_t Field::integer() const {
  if (j_.is_number_unsigned() && j_.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
    fail("integer out of range: " + j_.dump());
  }
  if (!j_.is_number_integer()) fail("expected an integer, got " + describe(j_));
  return j_.get<std::int64_t>();
}

double Field::number() const {
  if (!j_.is_number()) fail("expected a number, got " + describe(j_));
  const double v = j_.get<double>();
  if (!std::isfinite(v)) fail("expected a finite number, got " + j_.dump());
  return v;
}

}  // namespace fabtwin::results
