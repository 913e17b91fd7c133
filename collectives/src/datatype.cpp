#include "fabtwin/coll/datatype.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace fabtwin::coll {

std::size_t element_size(DataType t) {
  switch (t) {
    case DataType::float32:
    case DataType::int32:
      return 4;
    case DataType::float64:
    case DataType::int64:
      return 8;
    case DataType::float16:
    case DataType::bfloat16:
      return 2;
  }
  throw std::logic_error("element_size: bad DataType");
}

bool is_floating(DataType t) { return t != DataType::int32 && t != DataType::int64; }

const char* to_string(DataType t) {
  switch (t) {
    case DataType::float32:
      return "float";
    case DataType::float64:
      return "double";
    case DataType::float16:
      return "half";
    case DataType::bfloat16:
      return "bfloat16";
    case DataType::int32:
      return "int32";
    case DataType::int64:
      return "int64";
  }
  return "?";
}

const char* to_string(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
      return "sum";
    case ReduceOp::prod:
      return "prod";
    case ReduceOp::min:
      return "min";
    case ReduceOp::max:
      return "max";
  }
  return "?";
}

std::optional<DataType> data_type_from_string(const std::string& s) {
  if (s == "float" || s == "float32" || s == "f32") return DataType::float32;
  if (s == "double" || s == "float64" || s == "f64") return DataType::float64;
  if (s == "half" || s == "float16" || s == "f16") return DataType::float16;
  if (s == "bfloat16" || s == "bf16") return DataType::bfloat16;
  if (s == "int32" || s == "int") return DataType::int32;
  if (s == "int64") return DataType::int64;
  return std::nullopt;
}

std::optional<ReduceOp> reduce_op_from_string(const std::string& s) {
  if (s == "sum") return ReduceOp::sum;
  if (s == "prod") return ReduceOp::prod;
  if (s == "min") return ReduceOp::min;
  if (s == "max") return ReduceOp::max;
  return std::nullopt;
}

std::uint16_t float_to_half(float f) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf or NaN; keep NaN quiet and non-zero
    return static_cast<std::uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  }
  if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds past 65504
  if (abs < 0x38800000u) {
    // Subnormal half: scale into integer units of 2^-24 and round half to even.
    const float scaled = std::bit_cast<float>(abs) * 16777216.0f;
    const float rounded = std::nearbyint(scaled);
    return static_cast<std::uint16_t>(sign | static_cast<std::uint32_t>(rounded));
  }
  const std::uint32_t mant_odd = (abs >> 13) & 1u;
  const std::uint32_t rounded = abs + 0xfffu + mant_odd;
  return static_cast<std::uint16_t>(sign | (((rounded - 0x38000000u) >> 13) & 0x7fffu));
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  const std::uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    const float v = static_cast<float>(mant) / 16777216.0f;
    return sign ? -v : v;
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

std::uint16_t float_to_bfloat16(float f) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x40u);
  const std::uint32_t rounded = x + 0x7fffu + ((x >> 16) & 1u);
  return static_cast<std::uint16_t>(rounded >> 16);
}

float bfloat16_to_float(std::uint16_t b) { return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16); }

namespace {

template <typename T>
T apply(ReduceOp op, T a, T b) {
  switch (op) {
    case ReduceOp::sum:
      return static_cast<T>(a + b);
    case ReduceOp::prod:
      return static_cast<T>(a * b);
    case ReduceOp::min:
      return std::min(a, b);
    case ReduceOp::max:
      return std::max(a, b);
  }
  return a;
}

// Integers wrap on overflow as they do on a GPU; done in unsigned arithmetic so it is defined.
template <typename T, typename U>
T apply_int(ReduceOp op, T a, T b) {
  switch (op) {
    case ReduceOp::sum:
      return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
    case ReduceOp::prod:
      return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
    default:
      return apply(op, a, b);
  }
}

template <typename T, typename Op>
void loop(std::byte* dst, const std::byte* src, std::size_t count, Op f) {
  for (std::size_t i = 0; i < count; ++i) {
    T a;
    T b;
    std::memcpy(&a, dst + i * sizeof(T), sizeof(T));
    std::memcpy(&b, src + i * sizeof(T), sizeof(T));
    const T r = f(a, b);
    std::memcpy(dst + i * sizeof(T), &r, sizeof(T));
  }
}

}  // namespace

void reduce_into(DataType t, ReduceOp op, std::byte* dst, const std::byte* src, std::size_t count) {
  switch (t) {
    case DataType::float32:
      return loop<float>(dst, src, count, [op](float a, float b) { return apply(op, a, b); });
    case DataType::float64:
      return loop<double>(dst, src, count, [op](double a, double b) { return apply(op, a, b); });
    case DataType::int32:
      return loop<std::int32_t>(
          dst, src, count, [op](std::int32_t a, std::int32_t b) { return apply_int<std::int32_t, std::uint32_t>(op, a, b); });
    case DataType::int64:
      return loop<std::int64_t>(
          dst, src, count, [op](std::int64_t a, std::int64_t b) { return apply_int<std::int64_t, std::uint64_t>(op, a, b); });
    case DataType::float16:
      return loop<std::uint16_t>(dst, src, count, [op](std::uint16_t a, std::uint16_t b) {
        return float_to_half(apply(op, half_to_float(a), half_to_float(b)));
      });
    case DataType::bfloat16:
      return loop<std::uint16_t>(dst, src, count, [op](std::uint16_t a, std::uint16_t b) {
        return float_to_bfloat16(apply(op, bfloat16_to_float(a), bfloat16_to_float(b)));
      });
  }
}

double element_as_double(DataType t, const std::byte* base, std::size_t i) {
  const std::byte* p = base + i * element_size(t);
  switch (t) {
    case DataType::float32: {
      float v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case DataType::float64: {
      double v;
      std::memcpy(&v, p, 8);
      return v;
    }
    case DataType::int32: {
      std::int32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case DataType::int64: {
      std::int64_t v;
      std::memcpy(&v, p, 8);
      return static_cast<double>(v);
    }
    case DataType::float16:
    case DataType::bfloat16: {
      std::uint16_t v;
      std::memcpy(&v, p, 2);
      return t == DataType::float16 ? half_to_float(v) : bfloat16_to_float(v);
    }
  }
  return 0.0;
}

void store_from_double(DataType t, std::byte* base, std::size_t i, double v) {
  std::byte* p = base + i * element_size(t);
  switch (t) {
    case DataType::float32: {
      const float x = static_cast<float>(v);
      std::memcpy(p, &x, 4);
      return;
    }
    case DataType::float64:
      std::memcpy(p, &v, 8);
      return;
    case DataType::int32: {
      const auto x = static_cast<std::int32_t>(v);
      std::memcpy(p, &x, 4);
      return;
    }
    case DataType::int64: {
      const auto x = static_cast<std::int64_t>(v);
      std::memcpy(p, &x, 8);
      return;
    }
    case DataType::float16:
    case DataType::bfloat16: {
      const std::uint16_t x = t == DataType::float16 ? float_to_half(static_cast<float>(v))
                                                     : float_to_bfloat16(static_cast<float>(v));
      std::memcpy(p, &x, 2);
      return;
    }
  }
}

}  // namespace fabtwin::coll
