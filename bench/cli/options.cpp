#include "options.hpp"

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "fabtwin/coll/nccl.hpp"
#include "fabtwin/files.hpp"
#include "fabtwin/results/csv.hpp"

namespace fabtwin::cli {

namespace {

template <typename F>
auto with_option_name(const std::string& option, F parse) {
  try {
    return parse();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(option + ": " + e.what());
  }
}

}  // namespace

Bytes parse_bytes_option(const std::string& option, const std::string& text) {
  return with_option_name(option, [&] { return parse_bytes(text); });
}

BitsPerSecond parse_rate_option(const std::string& option, const std::string& text) {
  return with_option_name(option, [&] { return parse_rate(text); });
}

Seconds parse_duration_option(const std::string& option, const std::string& text) {
  return with_option_name(option, [&] { return parse_duration(text); });
}

std::vector<std::uint64_t> size_sweep(Bytes begin, Bytes end, std::uint64_t factor,
                                      const std::string& stepbytes) {
  if (end < begin) {
    throw std::invalid_argument("-e/--maxbytes (" + format_bytes(end) + ") is smaller than -b/--minbytes (" +
                                format_bytes(begin) + ")");
  }
  std::uint64_t step = 0;
  if (!stepbytes.empty()) {
    step = parse_bytes_option("-i/--stepbytes", stepbytes).count();
    if (step == 0) throw std::invalid_argument("-i/--stepbytes must be at least 1 byte");
    const std::uint64_t rows = (end.count() - begin.count()) / step + 1;
    if (rows > kMaxSizes) {
      throw std::invalid_argument("-i/--stepbytes " + stepbytes + " makes " + std::to_string(rows) +
                                  " sizes from -b to -e; at most " + std::to_string(kMaxSizes) +
                                  " (a larger -i, or -f for a geometric sweep)");
    }
  } else if (factor < 2) {
    throw std::invalid_argument("-f/--stepfactor must be at least 2, got " + std::to_string(factor));
  }
  std::vector<std::uint64_t> sizes;
  std::uint64_t s = begin.count();
  while (true) {
    sizes.push_back(s);
    if (step > 0 ? end.count() - s < step : (s == 0 || s > end.count() / factor)) break;
    s = step > 0 ? s + step : s * factor;
  }
  return sizes;
}

void refuse_nccl_tests_letters(CLI::App& cmd, const std::vector<RefusedLetter>& letters) {
  for (const RefusedLetter& l : letters) {
    const std::string letter = l.letter;
    const std::string why = l.why;
    cmd.add_option_function<std::string>(
           letter,
           [letter, why](const std::string&) { throw CLI::ValidationError(letter, "nccl-tests' " + why); },
           std::string("nccl-tests' ") + l.why)
        ->group("nccl-tests letters without a meaning here");
  }
}

std::vector<CollectiveOptions> expand_all(const CollectiveOptions& o) {
  const bool reduces = coll::has_reduction(parse_collective(o.collective));
  std::vector<std::string> types = {o.dtype};
  std::vector<std::string> ops = {reduces ? o.op : std::string("sum")};
  if (o.dtype == "all") types = {"int32", "int64", "half", "float", "double", "bfloat16"};
  if (o.op == "all" && reduces) ops = {"sum", "prod", "max", "min"};
  std::vector<CollectiveOptions> out;
  for (const auto& t : types) {
    for (const auto& op : ops) {
      CollectiveOptions one = o;
      one.dtype = t;
      one.op = op;
      out.push_back(one);
    }
  }
  return out;
}

void add_collective_options(CLI::App& cmd, CollectiveOptions& o) {
  cmd.add_option("--collective", o.collective,
                 "all_reduce, reduce_scatter, all_gather, broadcast, reduce or all_to_all")
      ->capture_default_str();
  cmd.add_option("-d,--dtype", o.dtype,
                 "float, double, half, bfloat16, int32, int64; all (sim, run) sweeps every one")
      ->capture_default_str();
  cmd.add_option("-o,--op", o.op, "sum, prod, min, max; all (sim, run) sweeps every one")
      ->capture_default_str();
  cmd.add_option("-r,--root", o.root, "root rank of broadcast and reduce")->capture_default_str();
  cmd.add_option("--chunks", o.chunks, "pipelining depth per segment (0: from the size)")
      ->check(CLI::Range(0, 1 << 16))
      ->capture_default_str();
  cmd.add_option("--proto", o.proto,
                 "NCCL protocol of the nccl-* algorithms: simple, ll, ll128, or auto for NCCL's tuner's pick")
      ->capture_default_str();
  cmd.add_option("--channels", o.channels,
                 "channels of the nccl-* algorithms (0: as NCCL derives them from the NICs and the size)")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
}

coll::Collective parse_collective(const std::string& text) {
  const auto c = coll::collective_from_string(text);
  if (!c) {
    throw std::invalid_argument(
        "--collective: unknown collective \"" + text +
        "\" (use all_reduce, reduce_scatter, all_gather, broadcast, reduce or all_to_all)");
  }
  return *c;
}

coll::AlgoOptions to_algo_options(const CollectiveOptions& o) {
  coll::AlgoOptions a;
  const auto dt = coll::data_type_from_string(o.dtype);
  if (!dt) {
    throw std::invalid_argument("--dtype: unknown type \"" + o.dtype +
                                "\" (use float, double, half, bfloat16, int32 or int64)");
  }
  const auto op = coll::reduce_op_from_string(o.op);
  if (!op)
    throw std::invalid_argument("--op: unknown operation \"" + o.op + "\" (use sum, prod, min or max)");
  a.dtype = *dt;
  a.op = *op;
  a.root = o.root;
  a.chunks = o.chunks;
  if (o.proto != "auto") {
    const auto p = coll::nccl::proto_from_string(o.proto);
    if (!p)
      throw std::invalid_argument("--proto: unknown protocol \"" + o.proto +
                                  "\" (use simple, ll, ll128 or auto)");
    a.protocol = coll::nccl::to_string(*p);
  }
  a.channels = o.channels;
  return a;
}

void write_json_output(const std::string& path, const nlohmann::json& j, std::ostream& out) {
  if (path == "-") {
    out << dump_json(j, 2) << "\n";
    return;
  }
  write_file_atomically(path, dump_json(j, 2) + "\n");
}

void write_csv_output(const std::string& path, const std::string& csv, std::ostream& out) {
  if (path.empty()) return;
  if (path == "-") {
    out << csv;
    return;
  }
  write_file_atomically(path, csv);
}

}  // namespace fabtwin::cli
