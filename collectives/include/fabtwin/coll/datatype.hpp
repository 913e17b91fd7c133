// Element types and reduction operators, with the kernels every executor shares: the reference
// executor and the verbs transport reduce with the same code, so a wrong number is the plan's fault.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace fabtwin::coll {

enum class DataType { float32, float64, float16, bfloat16, int32, int64 };
enum class ReduceOp { sum, prod, min, max };

std::size_t element_size(DataType t);
bool is_floating(DataType t);
// nccl-tests names ("float", "double", "half", "bfloat16", "int32", "int64") plus the enum names.
const char* to_string(DataType t);
const char* to_string(ReduceOp op);
std::optional<DataType> data_type_from_string(const std::string& s);
std::optional<ReduceOp> reduce_op_from_string(const std::string& s);

// dst[i] = dst[i] op src[i] for `count` elements. Regions must not overlap partially.
void reduce_into(DataType t, ReduceOp op, std::byte* dst, const std::byte* src, std::size_t count);

// IEEE binary16 and bfloat16 conversions, round to nearest even (what GPUs do on store).
std::uint16_t float_to_half(float f);
float half_to_float(std::uint16_t h);
std::uint16_t float_to_bfloat16(float f);
float bfloat16_to_float(std::uint16_t b);

// Element `i` of a buffer as double, for comparisons and messages.
double element_as_double(DataType t, const std::byte* base, std::size_t i);
void store_from_double(DataType t, std::byte* base, std::size_t i, double v);

}  // namespace fabtwin::coll
