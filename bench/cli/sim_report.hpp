// What `fabtwin sim` prints and writes beside the table: the fabric's or the model's busiest links,
// and the per-step trace.
#pragma once

#include <iosfwd>
#include <string>

#include "fabtwin/experiment/experiment.hpp"

namespace fabtwin::cli {

// The packet model's report, or the analytic model's busiest links, for the size `run` ran.
void print_size_report(std::ostream& out, const experiment::SizeRun& run, const topo::Topology& t);

// The per-step trace as CSV (rank, step, kind, peer, bytes, ready, start, end), as every backend records it.
void write_trace(const std::string& path, const coll::RunResult& run);

}  // namespace fabtwin::cli
