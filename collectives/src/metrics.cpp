#include "fabtwin/coll/metrics.hpp"

namespace fabtwin::coll {

double bus_factor(Collective c, std::int32_t ranks) {
  const double n = ranks;
  switch (c) {
    case Collective::all_reduce:
      return 2.0 * (n - 1) / n;
    case Collective::reduce_scatter:
    case Collective::all_gather:
    case Collective::all_to_all:
      return (n - 1) / n;
    case Collective::broadcast:
    case Collective::reduce:
      return 1.0;
  }
  return 1.0;
}

Bandwidth bandwidth(Collective c, std::int32_t ranks, Bytes size, Seconds time) {
  Bandwidth b;
  if (time.count() <= 0.0) return b;
  b.algbw_gbps = static_cast<double>(size.count()) / time.count() / 1e9;
  b.busbw_gbps = b.algbw_gbps * bus_factor(c, ranks);
  return b;
}

}  // namespace fabtwin::coll
