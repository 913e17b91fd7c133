// Calibration: latency, effective bandwidth and per-message overhead fitted to a point-to-point sweep
// (`fabtwin run --p2p`, format in /work/notes/p2p-format.md and results/README.md), saved as
// "fabtwin-calibration" JSON, and applied to the analytic model's parameters and to a topology's NIC
// links so `sim --calibration` predicts with the measured fabric instead of the nominal one.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fabtwin/backend/endpoint.hpp"
#include "fabtwin/results/results.hpp"
#include "fabtwin/topo/topology.hpp"
#include "fabtwin/units.hpp"

namespace fabtwin::results {

struct P2PRow {
  std::uint64_t size_bytes = 0;
  Seconds time;     // per message when streaming (a window of writes in flight)
  Seconds latency;  // one way: half a ping-pong round trip
};

struct P2PSweep {
  std::string origin;
  nlohmann::json provenance;
  Run run;
  std::vector<P2PRow> rows;  // sizes strictly increasing
};

// Strict like load_results; the run's collective must be a point-to-point one ("p2p_write").
P2PSweep parse_p2p(const nlohmann::json& j, const std::string& origin);
P2PSweep load_p2p(const std::string& path);

// Models, fitted by least squares on relative error (every size weighs the same, from 8 B to 1 GiB):
//   streaming:  time(S)    = per_message + S / bandwidth
//   ping-pong:  latency(S) = latency     + S / pingpong_bandwidth
inline constexpr double kMisfit = 0.10;

struct Calibration {
  Seconds latency;
  BitsPerSecond bandwidth;  // payload bits per second
  Seconds per_message;
  BitsPerSecond pingpong_bandwidth;
  double stream_max_residual = 0.0;  // worst |measured - fitted| / measured
  double latency_max_residual = 0.0;
  // Sizes whose residual exceeds kMisfit: where the two-parameter model does not describe the link (a
  // knee where per-message overhead stops hiding behind the transfer, a second protocol, noise).
  std::vector<std::uint64_t> stream_misfits;
  std::vector<std::uint64_t> latency_misfits;
  nlohmann::json source = nlohmann::json::object();  // the sweep's file, device, host, revision, sizes
};

// Throws InvalidResults naming the sweep when it cannot be fitted (fewer than 3 sizes, times that do
// not grow with size).
Calibration fit_calibration(const P2PSweep& sweep);

nlohmann::json to_json(const Calibration& c, nlohmann::json provenance);
Calibration parse_calibration(const nlohmann::json& j, const std::string& origin);
Calibration load_calibration(const std::string& path);

// The per-message cost becomes the fitted overhead.
void apply_calibration(const Calibration& c, backend::EndpointCosts& params);
// Every link between a NIC and a network switch runs at the wire rate that carries the fitted
// payload bandwidth (RoCE or InfiniBand headers at the link's MTU added back), and takes half of the
// latency the overhead does not explain (latency - per_message): a two-host path under one leaf
// crosses two such links. Other links (NVLink, PCIe, switch to switch) keep their nominal values: a
// host-to-host sweep does not see them. Returns the number of links changed.
std::size_t apply_calibration(const Calibration& c, topo::Topology& t);

// Why a fit cannot be right for a link of `line_rate` (wire bits per second; 0: unknown): the fitted or
// a measured bandwidth above it, and the sizes beyond kMisfit. One sentence each; empty when none.
std::vector<std::string> calibration_warnings(const Calibration& c, const P2PSweep& sweep,
                                              BitsPerSecond line_rate);

// What `sim --calibration FILE` calls: nothing when `path` is empty, else load and apply to both.
topo::Topology calibrated(const std::string& path, topo::Topology t, backend::EndpointCosts& params);

}  // namespace fabtwin::results
