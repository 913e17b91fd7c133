// perftest output as pasted (text or --out_json): a log, paired into a sweep with a fixed run of the
// other kind, or InvalidResults naming the line or JSON path.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "fabtwin/files.hpp"
#include "fabtwin/results/calibration.hpp"
#include "fabtwin/results/perftest.hpp"

namespace {

fabtwin::results::PerftestLog partner(bool latency) {
  const std::string bw =
      "                    RDMA_Write BW Test\n"
      " #bytes     #iterations    BW peak[MiB/sec]    BW average[MiB/sec]   MsgRate[Mpps]\n"
      " 2          5000             17.60              17.07  \t\t     8.951362\n"
      " 65536      5000             11708.32            11701.30\t\t     0.187221\n";
  const std::string lat =
      "                    RDMA_Write Latency Test\n"
      " #bytes #iterations    t_min[usec]    t_max[usec]  t_typical[usec]    t_avg[usec]    t_stdev[usec]   "
      "99% percentile[usec]   99.9% percentile[usec] \n"
      " 2       1000          0.95           6.53         0.99     \t       1.01        \t0.04   \t\t1.08    "
      "\t\t6.53\n"
      " 65536   1000          7.54           13.76        7.59     \t       7.61        \t0.11   \t\t7.69    "
      "\t\t13.76\n";
  return fabtwin::results::read_perftest(latency ? lat : bw, "partner");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto log = fabtwin::results::read_perftest(text, "fuzz.txt");
    const auto other = partner(!log.latency);
    const auto sweep = log.latency ? fabtwin::results::perftest_sweep(other, log, {})
                                   : fabtwin::results::perftest_sweep(log, other, {});
    fabtwin::dump_json(sweep);
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
