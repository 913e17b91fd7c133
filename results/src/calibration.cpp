#include "fabtwin/results/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "fabtwin/topo/wire.hpp"
#include "json_reader.hpp"

namespace fabtwin::results {

namespace {

constexpr const char* kCalibrationSchema = "fabtwin-calibration";
constexpr int kCalibrationVersion = 1;

struct Line {
  double intercept = 0;
  double slope = 0;
  double max_residual = 0;
  std::vector<double> residuals;  // |measured - fitted| / measured, per point
};

// Least squares of y = a + b x weighted by 1/y^2, i.e. on relative error. A negative intercept (noise
// at small sizes) is not physical: the fit is redone through the origin.
Line fit_line(const std::vector<double>& x, const std::vector<double>& y) {
  double sw = 0, swx = 0, swy = 0, swxx = 0, swxy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double w = 1.0 / (y[i] * y[i]);
    sw += w;
    swx += w * x[i];
    swy += w * y[i];
    swxx += w * x[i] * x[i];
    swxy += w * x[i] * y[i];
  }
  Line l;
  const double det = sw * swxx - swx * swx;
  l.slope = (sw * swxy - swx * swy) / det;
  l.intercept = (swy * swxx - swx * swxy) / det;
  if (l.intercept < 0) {
    l.intercept = 0;
    l.slope = swxy / swxx;
  }
  for (std::size_t i = 0; i < x.size(); ++i) {
    l.residuals.push_back(std::abs(y[i] - (l.intercept + l.slope * x[i])) / y[i]);
    l.max_residual = std::max(l.max_residual, l.residuals.back());
  }
  return l;
}

}  // namespace

P2PSweep parse_p2p(const nlohmann::json& j, const std::string& origin) {
  P2PSweep s;
  s.origin = origin;
  s.run = parse_envelope(j, origin, nullptr);
  s.provenance = j.at("provenance");
  const Field root(j, origin);
  if (s.run.collective.rfind("p2p", 0) != 0) {
    root.at("run")
        .at("collective")
        .fail("\"" + s.run.collective +
              "\" is not a point-to-point sweep: calibrate reads the output of "
              "`fabtwin run --p2p` (collective \"p2p_write\")");
  }
  const Field rows = root.at("rows");
  const std::size_t n = rows.array_size();
  for (std::size_t i = 0; i < n; ++i) {
    const Field row = rows.at(i);
    P2PRow r;
    r.size_bytes = row.at("size_bytes").unsigned_integer();
    // `fabtwin run --p2p -b 0` measures 0 B first: a latency with no bandwidth, so nothing to fit.
    if (r.size_bytes == 0) continue;
    if (!s.rows.empty() && r.size_bytes <= s.rows.back().size_bytes) {
      row.at("size_bytes").fail("sizes must be strictly increasing");
    }
    r.time = Seconds(row.at("time_s").number());
    r.latency = Seconds(row.at("latency_s").number());
    if (!(r.time.count() > 0)) row.at("time_s").fail("must be positive");
    if (!(r.latency.count() > 0)) row.at("latency_s").fail("must be positive");
    if (const auto bw = row.find("bw_gbps")) {
      const double expect = static_cast<double>(r.size_bytes) / r.time.count() / 1e9;
      if (std::abs(bw->number() - expect) > 0.01 + 0.01 * expect) {
        bw->fail("bw_gbps " + bw->json().dump() + " is not size / time_s = " + std::to_string(expect));
      }
    }
    s.rows.push_back(r);
  }
  return s;
}

P2PSweep load_p2p(const std::string& path) {
  return parse_p2p(read_json_file(path), path);
}

Calibration fit_calibration(const P2PSweep& sweep) {
  if (sweep.rows.size() < 3) {
    throw InvalidResults(
        sweep.origin + ": /rows: " + std::to_string(sweep.rows.size()) +
        " sizes; a fit of latency, bandwidth and overhead needs at least 3 (sweep -b 8 -e 1GiB)");
  }
  std::vector<double> x, t, l;
  for (const auto& r : sweep.rows) {
    x.push_back(static_cast<double>(r.size_bytes));
    t.push_back(r.time.count());
    l.push_back(r.latency.count());
  }
  const Line stream = fit_line(x, t);
  const Line pingpong = fit_line(x, l);
  if (!(stream.slope > 0) || !(pingpong.slope > 0)) {
    throw InvalidResults(sweep.origin +
                         ": /rows: time does not grow with message size, so no bandwidth can be "
                         "fitted (sweep up to at least a few MiB)");
  }
  Calibration c;
  c.per_message = Seconds(stream.intercept);
  c.bandwidth = BitsPerSecond(8.0 / stream.slope);
  c.latency = Seconds(pingpong.intercept);
  c.pingpong_bandwidth = BitsPerSecond(8.0 / pingpong.slope);
  c.stream_max_residual = stream.max_residual;
  c.latency_max_residual = pingpong.max_residual;
  for (std::size_t i = 0; i < sweep.rows.size(); ++i) {
    if (stream.residuals[i] > kMisfit) c.stream_misfits.push_back(sweep.rows[i].size_bytes);
    if (pingpong.residuals[i] > kMisfit) c.latency_misfits.push_back(sweep.rows[i].size_bytes);
  }
  auto prov = [&](const char* key) {
    const auto it = sweep.provenance.find(key);
    return it != sweep.provenance.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string device = prov("device");
  if (device.empty() && sweep.run.options.contains("device") && sweep.run.options["device"].is_string()) {
    device = sweep.run.options["device"].get<std::string>();
  }
  c.source = {{"file", sweep.origin},
              {"backend", sweep.run.backend},
              {"device", device},
              {"host", prov("host")},
              {"git_revision", prov("git_revision")},
              {"time", prov("time")},
              {"sizes", sweep.rows.size()},
              {"min_size_bytes", sweep.rows.front().size_bytes},
              {"max_size_bytes", sweep.rows.back().size_bytes}};
  return c;
}

nlohmann::json to_json(const Calibration& c, nlohmann::json provenance) {
  return {{"schema", kCalibrationSchema},
          {"schema_version", kCalibrationVersion},
          {"provenance", std::move(provenance)},
          {"source", c.source},
          {"model",
           "streaming time(S) = per_message_s + S / bandwidth; ping-pong latency(S) = latency_s + S / "
           "pingpong_bandwidth (payload bits per second)"},
          {"latency_s", c.latency.count()},
          {"bandwidth_bps", c.bandwidth.count()},
          {"bandwidth_gbps", c.bandwidth.gigabytes_per_second()},
          {"per_message_s", c.per_message.count()},
          {"pingpong_bandwidth_bps", c.pingpong_bandwidth.count()},
          {"fit_quality",
           {{"stream_max_rel_residual", c.stream_max_residual},
            {"latency_max_rel_residual", c.latency_max_residual}}}};
}

Calibration parse_calibration(const nlohmann::json& j, const std::string& origin) {
  const Field root(j, origin);
  root.expect_object();
  const auto schema = root.find("schema");
  if (!schema || schema->string() != kCalibrationSchema) {
    root.fail("not a calibration file (expected schema \"" + std::string(kCalibrationSchema) +
              "\", written by `fabtwin calibrate`)");
  }
  if (root.at("schema_version").integer() != kCalibrationVersion) {
    root.at("schema_version").fail("only version " + std::to_string(kCalibrationVersion) + " is supported");
  }
  Calibration c;
  c.latency = Seconds(root.at("latency_s").number());
  c.bandwidth = BitsPerSecond(root.at("bandwidth_bps").number());
  c.per_message = Seconds(root.at("per_message_s").number());
  c.pingpong_bandwidth = BitsPerSecond(root.at("pingpong_bandwidth_bps").number());
  if (c.latency.count() < 0) root.at("latency_s").fail("must not be negative");
  if (c.per_message.count() < 0) root.at("per_message_s").fail("must not be negative");
  if (!(c.bandwidth.count() > 0)) root.at("bandwidth_bps").fail("must be positive");
  if (!(c.pingpong_bandwidth.count() > 0)) root.at("pingpong_bandwidth_bps").fail("must be positive");
  if (const auto s = root.find("source")) c.source = s->json();
  if (const auto q = root.find("fit_quality")) {
    c.stream_max_residual = q->at("stream_max_rel_residual").number();
    c.latency_max_residual = q->at("latency_max_rel_residual").number();
  }
  return c;
}

Calibration load_calibration(const std::string& path) {
  return parse_calibration(read_json_file(path), path);
}

void apply_calibration(const Calibration& c, backend::EndpointCosts& params) {
  params.per_message = c.per_message;
}

std::size_t apply_calibration(const Calibration& c, topo::Topology& t) {
  const Seconds wire_latency = Seconds(std::max(0.0, (c.latency - c.per_message).count()) / 2.0);
  std::size_t changed = 0;
  for (auto& link : t.links) {
    const auto ka = t.nodes.at(link.a).kind;
    const auto kb = t.nodes.at(link.b).kind;
    const bool nic_to_switch = (ka == topo::NodeKind::nic && kb == topo::NodeKind::network_switch) ||
                               (kb == topo::NodeKind::nic && ka == topo::NodeKind::network_switch);
    if (!nic_to_switch) continue;
    // A large message's wire bytes over its payload: the header overhead the model charges back.
    const Bytes payload(1ull << 20);
    const double overhead =
        static_cast<double>(topo::rdma_write_on_wire(payload, link.mtu, link.layer).bytes.count()) /
        static_cast<double>(payload.count());
    link.bandwidth = c.bandwidth * overhead;
    link.latency = wire_latency;
    ++changed;
  }
  return changed;
}

topo::Topology calibrated(const std::string& path, topo::Topology t, backend::EndpointCosts& params) {
  if (path.empty()) return t;
  const Calibration c = load_calibration(path);
  apply_calibration(c, params);
  apply_calibration(c, t);
  t.name += " calibrated by " + path;
  return t;
}

}  // namespace fabtwin::results

namespace fabtwin::results {

namespace {

std::string size_list(const std::vector<std::uint64_t>& sizes) {
  std::string s;
  for (const auto v : sizes) s += (s.empty() ? "" : ", ") + std::to_string(v) + " B";
  return s;
}

std::string gbps(double bits_per_second) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f Gb/s", bits_per_second / 1e9);
  return b;
}

}  // namespace

std::vector<std::string> calibration_warnings(const Calibration& c, const P2PSweep& sweep,
                                              BitsPerSecond line_rate) {
  std::vector<std::string> w;
  if (line_rate.count() > 0) {
    if (c.bandwidth > line_rate) {
      w.push_back("the fitted bandwidth " + gbps(c.bandwidth.count()) + " is above the line rate " +
                  gbps(line_rate.count()) +
                  ": no link carries that; the latency + size / bandwidth model does not describe this sweep "
                  "(per-message costs overlapped with the transfer?)");
    }
    std::vector<std::uint64_t> above;
    for (const auto& r : sweep.rows) {
      if (static_cast<double>(r.size_bytes) * 8.0 / r.time.count() > line_rate.count())
        above.push_back(r.size_bytes);
    }
    if (!above.empty()) {
      w.push_back("measured above the line rate " + gbps(line_rate.count()) + " at " + size_list(above) +
                  ": a wrong --line-rate, or both directions summed (perftest -b)?");
    }
  }
  if (!c.stream_misfits.empty()) {
    w.push_back("the streaming fit is off by more than " + std::to_string(static_cast<int>(kMisfit * 100)) +
                "% at " + size_list(c.stream_misfits));
  }
  if (!c.latency_misfits.empty()) {
    w.push_back("the ping-pong fit is off by more than " + std::to_string(static_cast<int>(kMisfit * 100)) +
                "% at " + size_list(c.latency_misfits));
  }
  return w;
}

}  // namespace fabtwin::results
