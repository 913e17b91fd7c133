// Element conversions and reduction kernels: the arithmetic every executor shares.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "fabtwin/coll/datatype.hpp"

namespace fabtwin::coll {
namespace {

TEST(Half, EveryFiniteValueRoundTripsExactly) {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const auto bits = static_cast<std::uint16_t>(h);
    if ((bits & 0x7c00) == 0x7c00) continue;  // inf / NaN
    EXPECT_EQ(float_to_half(half_to_float(bits)), bits) << std::hex << h;
  }
}

TEST(Half, RoundsToNearestEvenAndSaturatesToInfinity) {
  EXPECT_EQ(half_to_float(float_to_half(1.0f)), 1.0f);
  // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even mantissa, 1.
  EXPECT_EQ(half_to_float(float_to_half(1.0f + std::ldexp(1.0f, -11))), 1.0f);
  EXPECT_EQ(half_to_float(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11))), 1.0f + std::ldexp(1.0f, -9));
  EXPECT_EQ(half_to_float(float_to_half(65504.0f)), 65504.0f);
  EXPECT_TRUE(std::isinf(half_to_float(float_to_half(65520.0f))));
  EXPECT_EQ(half_to_float(float_to_half(std::ldexp(1.0f, -24))),
            std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_TRUE(std::isnan(half_to_float(float_to_half(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(BFloat16, KeepsTheFloatExponentAndRoundsTheMantissa) {
  EXPECT_EQ(bfloat16_to_float(float_to_bfloat16(1.0f + std::ldexp(1.0f, -8))), 1.0f);  // tie to even
  EXPECT_EQ(bfloat16_to_float(float_to_bfloat16(1.0f + 3 * std::ldexp(1.0f, -8))),
            1.0f + std::ldexp(1.0f, -6));
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    if ((bits & 0x7f80) == 0x7f80) continue;
    EXPECT_EQ(float_to_bfloat16(bfloat16_to_float(bits)), bits) << std::hex << b;
  }
}

template <typename T>
std::vector<std::byte> bytes_of(std::vector<T> v) {
  std::vector<std::byte> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

TEST(Reduce, IntegersWrapLikeAGpuInsteadOfOverflowingIntoUndefinedBehaviour) {
  auto dst = bytes_of<std::int32_t>({std::numeric_limits<std::int32_t>::max(), -5, 7});
  const auto src = bytes_of<std::int32_t>({1, 3, -2});
  reduce_into(DataType::int32, ReduceOp::sum, dst.data(), src.data(), 3);
  EXPECT_EQ(element_as_double(DataType::int32, dst.data(), 0), std::numeric_limits<std::int32_t>::min());
  EXPECT_EQ(element_as_double(DataType::int32, dst.data(), 1), -2);
  reduce_into(DataType::int32, ReduceOp::min, dst.data(), src.data(), 3);
  EXPECT_EQ(element_as_double(DataType::int32, dst.data(), 2), -2);
}

TEST(Reduce, EveryOpOnEveryType) {
  for (DataType t : {DataType::float32, DataType::float64, DataType::float16, DataType::bfloat16,
                     DataType::int32, DataType::int64}) {
    const std::size_t es = element_size(t);
    std::vector<std::byte> a(2 * es), b(2 * es);
    store_from_double(t, a.data(), 0, 3);
    store_from_double(t, a.data(), 1, -2);
    store_from_double(t, b.data(), 0, 5);
    store_from_double(t, b.data(), 1, 4);
    const struct {
      ReduceOp op;
      double first, second;
    } expect[] = {
        {ReduceOp::sum, 8, 2}, {ReduceOp::prod, 15, -8}, {ReduceOp::min, 3, -2}, {ReduceOp::max, 5, 4}};
    for (const auto& e : expect) {
      auto acc = a;
      reduce_into(t, e.op, acc.data(), b.data(), 2);
      EXPECT_EQ(element_as_double(t, acc.data(), 0), e.first) << to_string(t) << " " << to_string(e.op);
      EXPECT_EQ(element_as_double(t, acc.data(), 1), e.second) << to_string(t) << " " << to_string(e.op);
    }
  }
}

TEST(Names, ParseWhatNcclTestsPrints) {
  EXPECT_EQ(data_type_from_string("float"), DataType::float32);
  EXPECT_EQ(data_type_from_string("half"), DataType::float16);
  EXPECT_EQ(data_type_from_string("bf16"), DataType::bfloat16);
  EXPECT_FALSE(data_type_from_string("float128"));
  EXPECT_EQ(reduce_op_from_string("max"), ReduceOp::max);
  EXPECT_FALSE(reduce_op_from_string("avg"));
}

}  // namespace
}  // namespace fabtwin::coll
