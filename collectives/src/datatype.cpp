#include "fabtwin/coll/datatype.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <type_traits>

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

bool is_floating(DataType t) {
  return t != DataType::int32 && t != DataType::int64;
}

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

float bfloat16_to_float(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

namespace {

// Integers wrap on overflow as they do on a GPU; done in unsigned arithmetic so it is defined.
template <typename T>
using Unsigned = std::make_unsigned_t<T>;

struct Sum {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      return static_cast<T>(static_cast<Unsigned<T>>(a) + static_cast<Unsigned<T>>(b));
    } else {
      return a + b;
    }
  }
};
struct Prod {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      return static_cast<T>(static_cast<Unsigned<T>>(a) * static_cast<Unsigned<T>>(b));
    } else {
      return a * b;
    }
  }
};
struct Min {
  template <typename T>
  T operator()(T a, T b) const {
    return std::min(a, b);
  }
};
struct Max {
  template <typename T>
  T operator()(T a, T b) const {
    return std::max(a, b);
  }
};

// The operator is a template parameter so the loop body has no branch and the compiler vectorises
// it; memcpy keeps the loads and stores legal for unaligned byte buffers.
template <typename T, typename F>
void loop(std::byte* dst, const std::byte* src, std::size_t count, F f) {
  if (reinterpret_cast<std::uintptr_t>(dst) % alignof(T) == 0 &&
      reinterpret_cast<std::uintptr_t>(src) % alignof(T) == 0) {
    // Aligned buffers (every allocator's): operate in place, one read of each stream, one write.
    T* d = reinterpret_cast<T*>(dst);
    const T* s = reinterpret_cast<const T*>(src);
    for (std::size_t i = 0; i < count; ++i) d[i] = f(d[i], s[i]);
    return;
  }
  constexpr std::size_t kBlock = 256;
  T a[kBlock];
  T b[kBlock];
  for (std::size_t i = 0; i < count; i += kBlock) {
    const std::size_t n = std::min(kBlock, count - i);
    std::memcpy(a, dst + i * sizeof(T), n * sizeof(T));
    std::memcpy(b, src + i * sizeof(T), n * sizeof(T));
    for (std::size_t j = 0; j < n; ++j) a[j] = f(a[j], b[j]);
    std::memcpy(dst + i * sizeof(T), a, n * sizeof(T));
  }
}

// Half-precision types are widened to float for the operation and rounded back, as GPUs do.
template <float (*Widen)(std::uint16_t), std::uint16_t (*Narrow)(float), typename F>
void loop16(std::byte* dst, const std::byte* src, std::size_t count, F f) {
  loop<std::uint16_t>(dst, src, count,
                      [f](std::uint16_t a, std::uint16_t b) { return Narrow(f(Widen(a), Widen(b))); });
}

template <typename F>
void reduce_typed(DataType t, std::byte* dst, const std::byte* src, std::size_t count, F f) {
  switch (t) {
    case DataType::float32:
      return loop<float>(dst, src, count, f);
    case DataType::float64:
      return loop<double>(dst, src, count, f);
    case DataType::int32:
      return loop<std::int32_t>(dst, src, count, f);
    case DataType::int64:
      return loop<std::int64_t>(dst, src, count, f);
    case DataType::float16:
      return loop16<half_to_float, float_to_half>(dst, src, count, f);
    case DataType::bfloat16:
      return loop16<bfloat16_to_float, float_to_bfloat16>(dst, src, count, f);
  }
}

}  // namespace

void reduce_into(DataType t, ReduceOp op, std::byte* dst, const std::byte* src, std::size_t count) {
  switch (op) {
    case ReduceOp::sum:
      return reduce_typed(t, dst, src, count, Sum{});
    case ReduceOp::prod:
      return reduce_typed(t, dst, src, count, Prod{});
    case ReduceOp::min:
      return reduce_typed(t, dst, src, count, Min{});
    case ReduceOp::max:
      return reduce_typed(t, dst, src, count, Max{});
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
