// The options `fabtwin sim` takes, and the scenario they describe. Defaults are printed from the
// definitions they stand for (endpoint costs, the packet model's configuration).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "fabtwin/experiment/experiment.hpp"
#include "options.hpp"

namespace CLI {
class App;
}

namespace fabtwin::cli {

struct SimArgs {
  SimArgs();
  std::string topology;
  std::string algo = "ring";
  std::int32_t ranks = 0;
  std::string minbytes = "8";
  std::string maxbytes = "128MiB";
  std::uint64_t factor = 2;
  std::string stepbytes;  // -i: additive steps instead of -f
  std::string csv;
  std::string backend = "analytic";
  std::uint64_t seed = 0;
  std::string json;
  std::string trace;
  std::string per_message;
  std::string reduce_rate;
  std::string calibration;
  bool list = false;
  CollectiveOptions coll;
  // Packet backend.
  std::string fabric = "auto";
  std::string routing = "ecmp";
  std::string cc = "auto";
  std::string pfc = "on";
  std::string switch_buffer;
  std::string pfc_xoff;
  std::string pfc_xon;
  std::string credit_buffer;
  std::string ecn_kmin;
  std::string ecn_kmax;
  double ecn_pmax = 0;
  std::string rto;
  std::vector<std::string> fail;
  std::vector<std::string> degrade;
};

void add_sim_options(CLI::App& cmd, SimArgs& a);

// The scenario the parsed options describe. Progress of long packet runs goes to `err` when it is a
// terminal. Throws std::invalid_argument naming the option at fault.
experiment::Scenario make_scenario(const CLI::App& cmd, const SimArgs& a, std::ostream& err);

}  // namespace fabtwin::cli
