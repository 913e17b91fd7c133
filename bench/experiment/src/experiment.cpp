#include "fabtwin/experiment/experiment.hpp"

#include <cmath>
#include <stdexcept>

#include "fabtwin/backend/errors.hpp"
#include "fabtwin/experiment/report.hpp"
#include "fabtwin/experiment/strategy.hpp"
#include "fabtwin/results/rows.hpp"

namespace fabtwin::experiment {

namespace {

std::invalid_argument needs_a_plan(BackendKind backend, std::int32_t ranks, const std::string& algorithm) {
  const std::string name = to_string(backend);
  return std::invalid_argument("--backend " + name + " over " + std::to_string(ranks) + " ranks: the " +
                               algorithm + " plan is too large to build and the " + name +
                               " model needs one (use --backend analytic or fewer --ranks)");
}

void check_algorithm(const Scenario& s) {
  if (find_strategy(s.algorithm) != nullptr) return;
  const auto known = coll::algorithms_for(s.collective);
  for (const auto& a : known) {
    if (a == s.algorithm) return;
  }
  std::string list;
  for (const auto& a : known) list += (list.empty() ? "" : ", ") + a;
  for (const auto& st : strategies()) list += ", " + st.name;
  throw std::invalid_argument("--algo: unknown " + std::string(coll::to_string(s.collective)) +
                              " algorithm \"" + s.algorithm + "\" (known: " + list + ")");
}

SizeRun run_size(const Scenario& s, const Candidate& c, const packet::PacketConfig& config,
                 const flow::FlowConfig& flow_config) {
  Evaluation e = choose(s.algorithm, c);
  SizeRun sr;
  Seconds time = e.time;
  if (e.rounds) {
    // A strategy may pick an algorithm past its plan: the packet model has no round form.
    if (s.backend == BackendKind::packet) throw needs_a_plan(s.backend, c.group.ranks, e.algorithm);
    if (s.backend == BackendKind::flow) {
      flow::FlowRoundEstimate r = flow::simulate_rounds(*e.round_plan, s.topology, flow_config);
      time = r.time;
      sr.flow = std::move(r.fabric);
    }
    sr.model = e.algorithm + "-rounds";
    sr.row = results::row_of(e.round_plan->summary(), c.group.ranks, to_string(s.backend), time);
    if (e.nccl_model_us) sr.row.extra["nccl_model_us"] = *e.nccl_model_us;
    if (sr.flow) sr.row.extra["fabric"] = flow_fabric_json(*sr.flow, s.topology);
    return sr;
  }
  const coll::Plan& plan = *e.plan;
  if (s.backend == BackendKind::packet) {
    packet::PacketResult r = packet::simulate(plan, s.topology, config);
    time = r.time;
    sr.run = std::move(r.run);
    sr.fabric = std::move(r.fabric);
    sr.model = "packet";
  } else if (s.backend == BackendKind::flow) {
    flow::FlowResult r = flow::simulate(plan, s.topology, flow_config);
    time = r.time;
    sr.run = std::move(r.run);
    sr.flow = std::move(r.fabric);
    sr.model = "flow";
  } else {
    sr.run = std::move(e.prediction->run);
    sr.busiest = std::move(e.prediction->busiest);
    sr.model = "plan";
  }
  sr.row = results::row_of(plan, c.group.ranks, to_string(s.backend), time);
  if (e.nccl_model_us) sr.row.extra["nccl_model_us"] = *e.nccl_model_us;
  if (sr.fabric) sr.row.extra["fabric"] = fabric_json(*sr.fabric, s.topology);
  if (sr.flow) sr.row.extra["fabric"] = flow_fabric_json(*sr.flow, s.topology);
  return sr;
}

// Every row leaves with a positive size, a finite positive time and a size above the last row's: the
// results readers refuse anything else, so a row that is not would be a number no one can use.
void check_row(const results::Row& row, std::uint64_t asked, const results::Row* previous) {
  if (row.size_bytes == 0) {
    throw std::invalid_argument("size " + std::to_string(asked) + " B holds no whole " + row.dtype +
                                " element per rank here (it rounds down to 0 B): raise -b/--minbytes");
  }
  if (previous && row.size_bytes <= previous->size_bytes) {
    throw std::invalid_argument("size " + std::to_string(asked) + " B rounds down to " +
                                std::to_string(row.size_bytes) + " B (whole " + row.dtype +
                                " elements per rank), as the size before it does: raise -b or -f");
  }
  const double t = row.timing.time.count();
  if (!(std::isfinite(t) && t > 0 && std::isfinite(row.timing.busbw_gbps))) {
    throw backend::SimulationFailed(
        "size " + std::to_string(row.size_bytes) + " B: the model's time is " + std::to_string(t) +
        " s, not a finite positive time; a rate or latency of the scenario is out "
        "of range");
  }
}

}  // namespace

bool needs_round_model(const Scenario& s, std::uint64_t size) {
  if (find_strategy(s.algorithm) != nullptr) return false;
  const std::int32_t ranks = resolve_ranks(s.ranks, &s.topology, 0);
  return coll::prefers_round_form(s.collective, s.algorithm, ranks, size, s.options);
}

void check_scenario(const Scenario& s) {
  check_algorithm(s);
  if (s.sizes.empty()) throw std::invalid_argument("the scenario has no sizes");
  if (s.backend == BackendKind::packet && needs_round_model(s, s.sizes.back())) {
    throw needs_a_plan(s.backend, resolve_ranks(s.ranks, &s.topology, 0), s.algorithm);
  }
}

Outcome run(const Scenario& s, const Hooks& hooks) {
  check_scenario(s);
  const std::int32_t ranks = resolve_ranks(s.ranks, &s.topology, 0);
  const coll::Group group = make_group(ranks, &s.topology, 0);
  const topo::Router router(s.topology);
  const analytic::CostParams costs{s.endpoint, s.seed};
  packet::PacketConfig config = s.packet;
  config.endpoint = s.endpoint;
  config.seed = s.seed;
  flow::FlowConfig flow_config = s.flow;
  flow_config.endpoint = s.endpoint;
  flow_config.seed = s.seed;

  Outcome out;
  out.results.origin = std::string("sim --backend ") + to_string(s.backend);
  out.results.provenance = provenance(&s.topology);
  out.results.run = run_header(s, ranks);
  for (std::uint64_t size : s.sizes) {
    if (size == 0) throw std::invalid_argument("size 0: a zero-byte collective has no bandwidth");
    if (hooks.before_size) hooks.before_size(out.results.rows.size(), s.sizes.size(), size);
    const Candidate c{s.collective, group, size, s.options, router, costs};
    SizeRun sr = run_size(s, c, config, flow_config);
    check_row(sr.row, size, out.results.rows.empty() ? nullptr : &out.results.rows.back());
    if (out.results.rows.empty()) out.results.run.options["model"] = sr.model;
    if (hooks.on_size) hooks.on_size(sr);
    out.results.rows.push_back(sr.row);
    out.last = std::move(sr);
  }
  return out;
}

}  // namespace fabtwin::experiment
