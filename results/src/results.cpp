#include "fabtwin/results/results.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "fabtwin/coll/metrics.hpp"
#include "fabtwin/coll/plan.hpp"
#include "fabtwin/files.hpp"
#include "json_reader.hpp"

namespace fabtwin::results {

namespace {

// algbw and busbw are derived from size and time; a file where they disagree was edited by hand or
// written with the wrong rank count, and comparing it would mislead. Loose enough for nccl-tests'
// two printed decimals.
bool close(double a, double b) {
  return std::abs(a - b) <= 0.01 + 0.01 * std::max(std::abs(a), std::abs(b));
}

Timing parse_timing(const Field& f, bool with_correctness_default) {
  Timing t;
  t.time = Seconds(f.at("time_s").number());
  if (!(t.time.count() > 0))
    f.at("time_s").fail("time must be positive, got " + f.at("time_s").json().dump());
  t.algbw_gbps = f.at("algbw_gbps").number();
  t.busbw_gbps = f.at("busbw_gbps").number();
  if (t.algbw_gbps < 0) f.at("algbw_gbps").fail("bandwidth must not be negative");
  if (t.busbw_gbps < 0) f.at("busbw_gbps").fail("bandwidth must not be negative");
  if (const auto c = f.find("correctness")) {
    const auto v = correctness_from_string(c->string());
    if (!v) c->fail("expected \"pass\", \"fail\" or \"not_checked\", got " + describe(c->json()));
    t.correctness = *v;
  } else if (!with_correctness_default) {
    f.at("correctness");
  }
  if (const auto w = f.find("wrong")) t.wrong = w->unsigned_integer();
  return t;
}

nlohmann::json timing_json(const Timing& t) {
  nlohmann::json j = {{"time_s", t.time.count()},
                      {"time_us", t.time.micros()},
                      {"algbw_gbps", t.algbw_gbps},
                      {"busbw_gbps", t.busbw_gbps},
                      {"correctness", to_string(t.correctness)}};
  if (t.wrong) j["wrong"] = *t.wrong;
  return j;
}

void check_bandwidths(const Field& row, const Timing& t, std::uint64_t size, coll::Collective c,
                      std::int32_t ranks) {
  const double algbw = static_cast<double>(size) / t.time.count() / 1e9;
  // A time so small that size / time overflows (5e-324 s) would make every comparison below pass.
  if (!std::isfinite(algbw) || algbw > 1e9) {
    row.at("time_s").fail("time " + row.at("time_s").json().dump() + " s is too small for " +
                          std::to_string(size) + " bytes: size / time is not a bandwidth any fabric has");
  }
  if (!close(t.algbw_gbps, algbw)) {
    row.at("algbw_gbps")
        .fail("algbw " + std::to_string(t.algbw_gbps) +
              " GB/s does not match size / time = " + std::to_string(algbw) + " GB/s");
  }
  const double busbw = t.algbw_gbps * coll::bus_factor(c, ranks);
  if (!close(t.busbw_gbps, busbw)) {
    row.at("busbw_gbps")
        .fail("busbw " + std::to_string(t.busbw_gbps) + " GB/s does not match algbw x the bus factor of " +
              std::to_string(ranks) + " ranks = " + std::to_string(busbw) + " GB/s (is /run/ranks right?)");
  }
}

}  // namespace

const char* to_string(Correctness c) {
  switch (c) {
    case Correctness::pass:
      return "pass";
    case Correctness::fail:
      return "fail";
    case Correctness::not_checked:
      return "not_checked";
  }
  return "not_checked";
}

std::optional<Correctness> correctness_from_string(const std::string& s) {
  if (s == "pass") return Correctness::pass;
  if (s == "fail") return Correctness::fail;
  if (s == "not_checked") return Correctness::not_checked;
  return std::nullopt;
}

std::string ResultFile::provenance_string(const char* key) const {
  const auto it = provenance.find(key);
  return it != provenance.end() && it->is_string() ? it->get<std::string>() : std::string();
}

nlohmann::json read_json_file(const std::string& path) {
  std::string text;
  try {
    text = read_input_file(path, "results file");
  } catch (const std::invalid_argument& e) {
    throw InvalidResults(e.what());
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    throw InvalidResults(path + ": the file is empty");
  try {
    return parse_json_text(text, path);
  } catch (const std::invalid_argument& e) {
    const bool log = text.rfind("#", 0) == 0 || text.find("nThread") != std::string::npos;
    throw InvalidResults(std::string(e.what()) +
                         (log ? " (an nccl-tests log? turn it into a results file with `fabtwin import-nccl`)"
                              : " (truncated, or not a fabtwin file?)"));
  }
}

Run parse_envelope(const nlohmann::json& j, const std::string& origin, int* schema_version) {
  const Field root(j, origin);
  if (!j.is_object()) root.fail("expected a fabtwin results object, got " + describe(j));
  const auto schema = root.find("schema");
  if (!schema && j.contains("config") && j.contains("results")) {
    root.fail(
        "an nccl-tests -J file, not a fabtwin results file: turn it into one with `fabtwin import-nccl " +
        origin + " -o FILE.json`");
  }
  if (!schema) {
    root.fail("not a fabtwin results file: no \"schema\" field (expected \"" + std::string(kSchemaName) +
              "\"; an nccl-tests log needs `fabtwin import-nccl` first)");
  }
  if (schema->string() != kSchemaName) {
    schema->fail("not a fabtwin results file: schema is \"" + schema->string() + "\", expected \"" +
                 kSchemaName + "\"");
  }
  const Field version = root.at("schema_version");
  const std::int64_t v = version.integer();
  if (v != kSchemaVersion) {
    version.fail("schema_version " + std::to_string(v) + " is not supported (this fabtwin reads version " +
                 std::to_string(kSchemaVersion) +
                 (v > kSchemaVersion ? "; written by a newer fabtwin?)" : ")"));
  }
  if (schema_version) *schema_version = static_cast<int>(v);
  const Field prov = root.at("provenance");
  prov.expect_object();
  for (const char* key : {"fabtwin_version", "git_revision", "host", "time"}) prov.at(key).string();
  for (const char* key : {"device", "topology", "topology_hash"}) {
    if (const auto f = prov.find(key)) f->string();
  }

  const Field run = root.at("run");
  Run r;
  r.backend = run.at("backend").string();
  r.collective = run.at("collective").string();
  r.algorithm = run.at("algorithm").string();
  const std::int64_t ranks = run.at("ranks").integer();
  if (ranks < 1 || ranks > INT32_MAX)
    run.at("ranks").fail("ranks must be at least 1, got " + std::to_string(ranks));
  r.ranks = static_cast<std::int32_t>(ranks);
  if (const auto f = run.find("dtype")) r.dtype = f->string();
  if (const auto f = run.find("op")) r.op = f->string();
  if (const auto f = run.find("seed")) r.seed = f->unsigned_integer();
  for (const auto& [key, value] : run.json().items()) {
    if (key != "backend" && key != "collective" && key != "algorithm" && key != "ranks" && key != "dtype" &&
        key != "op" && key != "seed") {
      r.options[key] = value;
    }
  }
  return r;
}

ResultFile parse_results(const nlohmann::json& j, const std::string& origin) {
  ResultFile f;
  f.origin = origin;
  f.run = parse_envelope(j, origin, &f.schema_version);
  const Field root(j, origin);
  f.provenance = j.at("provenance");
  const Field run = root.at("run");
  const auto c = coll::collective_from_string(f.run.collective);
  if (!c) {
    run.at("collective")
        .fail("\"" + f.run.collective +
              "\" is not a collective (all_reduce, reduce_scatter, all_gather, broadcast, reduce, "
              "all_to_all)" +
              (f.run.collective.rfind("p2p", 0) == 0
                   ? ": a point-to-point sweep is read by `fabtwin calibrate`"
                   : ""));
  }
  run.at("dtype").string();
  run.at("op").string();

  const Field rows = root.at("rows");
  const std::size_t n = rows.array_size();
  if (n == 0) rows.fail("no rows: the run measured nothing");
  for (std::size_t i = 0; i < n; ++i) {
    const Field row = rows.at(i);
    Row r;
    r.size_bytes = row.at("size_bytes").unsigned_integer();
    if (r.size_bytes == 0) row.at("size_bytes").fail("a zero-byte row has no bandwidth");
    if (!f.rows.empty() && r.size_bytes <= f.rows.back().size_bytes) {
      row.at("size_bytes")
          .fail("sizes must be strictly increasing: " + std::to_string(r.size_bytes) + " after " +
                std::to_string(f.rows.back().size_bytes));
    }
    r.count = row.at("count").unsigned_integer();
    r.dtype = row.at("dtype").string();
    r.op = row.at("op").string();
    if (const auto root_field = row.find("root")) {
      const std::int64_t v = root_field->integer();
      if (v < -1 || v >= f.run.ranks) root_field->fail("root " + std::to_string(v) + " is not a rank");
      r.root = static_cast<std::int32_t>(v);
    }
    r.algorithm = row.find("algorithm") ? row.at("algorithm").string() : f.run.algorithm;
    r.backend = row.at("backend").string();
    r.timing = parse_timing(row, true);
    check_bandwidths(row, r.timing, r.size_bytes, *c, f.run.ranks);
    if (const auto ip = row.find("in_place")) {
      r.in_place = parse_timing(*ip, true);
      check_bandwidths(*ip, *r.in_place, r.size_bytes, *c, f.run.ranks);
    }
    static const std::set<std::string> known = {
        "size_bytes", "count",   "dtype",      "op",         "root",        "algorithm", "backend",
        "time_s",     "time_us", "algbw_gbps", "busbw_gbps", "correctness", "wrong",     "in_place"};
    for (const auto& [key, value] : row.json().items()) {
      if (!known.contains(key)) r.extra[key] = value;
    }
    f.rows.push_back(std::move(r));
  }
  return f;
}

bool has_in_place(const ResultFile& f) {
  return std::all_of(f.rows.begin(), f.rows.end(), [](const Row& r) { return r.in_place.has_value(); });
}

ResultFile with_in_place_timings(ResultFile f) {
  for (Row& r : f.rows) {
    if (!r.in_place) {
      throw InvalidResults(f.origin + ": size " + std::to_string(r.size_bytes) +
                           " has no in-place measurement");
    }
    std::swap(r.timing, *r.in_place);
  }
  return f;
}

ResultFile load_results(const std::string& path) {
  return parse_results(read_json_file(path), path);
}

nlohmann::json to_json(const ResultFile& f) {
  nlohmann::json run = f.run.options;
  run["backend"] = f.run.backend;
  run["collective"] = f.run.collective;
  run["algorithm"] = f.run.algorithm;
  run["ranks"] = f.run.ranks;
  run["dtype"] = f.run.dtype;
  run["op"] = f.run.op;
  if (f.run.seed) run["seed"] = *f.run.seed;
  nlohmann::json rows = nlohmann::json::array();
  for (const Row& r : f.rows) {
    nlohmann::json row = r.extra;
    row.update({{"size_bytes", r.size_bytes},
                {"count", r.count},
                {"dtype", r.dtype},
                {"op", r.op},
                {"root", r.root},
                {"algorithm", r.algorithm},
                {"backend", r.backend}});
    row.update(timing_json(r.timing));
    if (r.in_place) row["in_place"] = timing_json(*r.in_place);
    rows.push_back(std::move(row));
  }
  return {{"schema", kSchemaName},
          {"schema_version", kSchemaVersion},
          {"provenance", f.provenance},
          {"run", run},
          {"rows", rows}};
}

void write_results(const std::string& path, const ResultFile& f) {
  write_file_atomically(path, dump_json(to_json(f), 2) + "\n");
}

}  // namespace fabtwin::results
