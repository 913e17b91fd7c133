#include "nccl_build.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "fabtwin/coll/metrics.hpp"
#include "fabtwin/coll/plan.hpp"
#include "nccl_ranks.hpp"
#include "nccl_tests_words.hpp"

namespace fabtwin::results::nccl_words {

namespace {

std::string series_name(const ParsedRow& r, bool with_root) {
  return r.type + "." + r.redop + (with_root ? ".root" + std::to_string(r.root) : "");
}

class Builder {
 public:
  Builder(const std::string& origin, const NcclImportOptions& options, const ParsedLog& log)
      : origin_(origin), options_(options), log_(log) {}

  ResultFile build(nlohmann::json provenance) const;

 private:
  [[noreturn]] void fail(const std::string& what) const { throw InvalidResults(origin_ + ": " + what); }
  [[noreturn]] void fail(const ParsedRow& r, const std::string& what) const {
    throw InvalidResults(row_place(origin_, r) + ": " + what);
  }
  coll::Collective collective() const;
  std::int32_t rank_count(coll::Collective c, nlohmann::json& said) const;
  void add_rows(ResultFile& f, coll::Collective c, std::int32_t ranks) const;
  Row row(const ParsedRow& r, const ResultFile& f, coll::Collective c, std::int32_t ranks) const;

  const std::string& origin_;
  const NcclImportOptions& options_;
  const ParsedLog& log_;
};

coll::Collective Builder::collective() const {
  std::optional<coll::Collective> stated;
  if (!log_.binary.empty()) stated = collective_of_binary(log_.binary);
  if (!stated && !log_.facts.fabtwin_collective.empty())
    stated = coll::collective_from_string(log_.facts.fabtwin_collective);
  if (!options_.collective.empty()) {
    const auto c = coll::collective_from_string(options_.collective);
    if (!c) {
      fail("--collective: unknown collective \"" + options_.collective +
           "\" (all_reduce, reduce_scatter, all_gather, broadcast, reduce, all_to_all)");
    }
    if (stated && *stated != *c) {
      fail("--collective " + options_.collective + " contradicts the log, which ran " + log_.binary);
    }
    stated = c;
  }
  if (stated) return *stated;
  // Without a name, the table's shape decides where it can: reductions print an operation, rooted
  // collectives a root, and all-reduce prints the whole count where reduce-scatter prints a rank's.
  const ParsedRow& r = log_.rows.front();
  const bool reduces = r.redop != "none";
  const bool rooted = r.root >= 0;
  const std::uint64_t elem = element_size(r.type).value_or(1);
  if (reduces && rooted) return coll::Collective::reduce;
  if (!reduces && rooted) return coll::Collective::broadcast;
  if (reduces && r.count > 0) {
    std::uint64_t whole = 0;
    if (!__builtin_mul_overflow(r.count, elem, &whole) && whole == r.size)
      return coll::Collective::all_reduce;
    if (whole != 0 && r.size % whole == 0) return coll::Collective::reduce_scatter;
  }
  fail(
      "the log does not name its test (no \"# Collective test starting:\" line) and the table fits more "
      "than one collective: pass --collective (e.g. all_gather or all_to_all)");
}

std::int32_t Builder::rank_count(coll::Collective c, nlohmann::json& said) const {
  const std::int32_t listed =
      log_.listed_ranks > 0 ? log_.listed_ranks : static_cast<std::int32_t>(log_.ranks.size());
  if (listed > 0 && options_.ranks > 0 && options_.ranks != listed) {
    fail("--ranks " + std::to_string(options_.ranks) + " disagrees with the " + std::to_string(listed) +
         " ranks of " + log_.listed_from);
  }
  if (listed > 0) {
    said = {{"value", listed}, {"from", log_.listed_from}};
    return listed;
  }
  if (options_.ranks > 0) {
    said = {{"value", options_.ranks}, {"from", "--ranks"}};
    return options_.ranks;
  }
  const LogFacts& facts = log_.facts;
  if (facts.fabtwin_ranks > 0) {
    said = {{"value", facts.fabtwin_ranks}, {"from", facts.fabtwin_tool + "'s header"}};
    return facts.fabtwin_ranks;
  }
  if (facts.nranks > 0) {
    said = {{"value", facts.nranks}, {"from", "NCCL's \"nranks\" on its Init COMPLETE line"}};
    return facts.nranks;
  }
  std::vector<PrintedRow> printed;
  for (const auto& r : log_.rows) {
    const std::uint64_t elem = element_size(r.type).value_or(0);
    for (const ParsedTiming* t : {&r.out_of_place, &r.in_place}) {
      if (t->present) printed.push_back({r.line, r.size, r.count, elem, t->algbw, t->busbw});
    }
  }
  const InferredRanks inferred = infer_ranks(c, printed);
  if (inferred.ranks == 0) {
    fail("no \"# Using devices\" rank list, and " + inferred.said + " with the number of ranks the run had");
  }
  said = {{"value", inferred.ranks}, {"from", "inferred: " + inferred.said}};
  return inferred.ranks;
}

// Per-half facts nccl-tests printed beside the timing, under the half's prefix ("" or "in_place_").
void add_half_extras(nlohmann::json& extra, const ParsedTiming& t, const std::string& prefix) {
  if (t.cputime_us) extra[prefix + "cputime_us"] = *t.cputime_us;
  if (!t.error.empty()) extra[prefix + "max_relative_error"] = t.error;
  if (t.per_iteration.size() == 4) {
    extra[prefix + "per_iteration"] = {{"min_us", t.per_iteration[0]},
                                       {"max_us", t.per_iteration[1]},
                                       {"p99_us", t.per_iteration[2]},
                                       {"cv_pct", t.per_iteration[3]}};
  }
}

Row Builder::row(const ParsedRow& r, const ResultFile& f, coll::Collective c, std::int32_t ranks) const {
  Row row;
  row.size_bytes = r.size;
  row.count = r.count;
  row.dtype = r.type;
  row.op = r.redop;
  row.root = r.root;
  row.algorithm = r.algo.empty() || r.algo == "N/A" ? f.run.algorithm : r.algo;
  row.backend = f.run.backend;
  if (r.proto != "" && r.proto != "N/A") row.extra["protocol"] = r.proto;
  if (const auto ch = whole_number(r.channels)) row.extra["channels"] = *ch;
  if (!r.timestamp.empty()) row.extra["timestamp"] = r.timestamp;
  // The schema's row holds out of place, and in place beside it; a run of one placement has one.
  const bool out = r.out_of_place.present;
  const ParsedTiming& first = out ? r.out_of_place : r.in_place;
  row.timing = checked_timing(origin_, r, first, c, ranks, out ? "out-of-place" : "in-place");
  add_half_extras(row.extra, first, "");
  if (!out) row.extra["placement"] = "in_place";
  if (out && r.in_place.present) {
    row.in_place = checked_timing(origin_, r, r.in_place, c, ranks, "in-place");
    add_half_extras(row.extra, r.in_place, "in_place_");
  }
  return row;
}

void Builder::add_rows(ResultFile& f, coll::Collective c, std::int32_t ranks) const {
  for (const ParsedRow& r : log_.rows) {
    if (r.type != f.run.dtype || r.redop != f.run.op || r.root != log_.rows.front().root) {
      fail(r, "rows of several types, operations or roots (" + series_name(log_.rows.front(), true) +
                  " and " + series_name(r, true) +
                  "; a run with -d all, -o all or -r -1?): choose one with --dtype and --op, or --split");
    }
    const auto elem = element_size(r.type);
    if (!elem) fail(r, "unknown data type \"" + r.type + "\"");
    const std::uint64_t per_rank = count_is_whole_size(c) ? 1 : static_cast<std::uint64_t>(ranks);
    std::uint64_t made = 0;
    if (__builtin_mul_overflow(r.count, *elem * per_rank, &made) || made != r.size) {
      fail(r, "count " + std::to_string(r.count) + " of " + r.type + " does not make size " +
                  std::to_string(r.size) + " for " + coll::to_string(c) + " over " + std::to_string(ranks) +
                  " ranks");
    }
    if (!f.rows.empty() && r.size <= f.rows.back().size_bytes) {
      fail(r, "size " + std::to_string(r.size) + " does not grow after " +
                  std::to_string(f.rows.back().size_bytes) +
                  " (the sweep repeated with -N, or two runs in one log?)");
    }
    if (r.size == 0) continue;  // nccl-tests runs size 0 with -b 0; it has no bandwidth
    f.rows.push_back(row(r, f, c, ranks));
  }
}

ResultFile Builder::build(nlohmann::json provenance) const {
  if (log_.rows.empty()) {
    fail(options_.dtype.empty() && options_.op.empty() ? "the result table has no rows"
                                                       : "no rows of the chosen --dtype/--op");
  }
  const coll::Collective c = collective();
  nlohmann::json ranks_said;
  const std::int32_t ranks = rank_count(c, ranks_said);
  const LogFacts& facts = log_.facts;

  ResultFile f;
  f.origin = origin_;
  f.run.backend = facts.fabtwin_backend.empty() ? "nccl-tests" : facts.fabtwin_backend;
  f.run.collective = coll::to_string(c);
  // NCCL picks its algorithm per size unless told; "nccl" says so honestly, and so does a setting
  // that names several ("Tree,Ring", "allreduce:ring;...", "^NVLS").
  std::string algo = facts.algorithm();
  std::transform(algo.begin(), algo.end(), algo.begin(), [](unsigned char ch) { return std::tolower(ch); });
  const bool one_algorithm = !algo.empty() && algo.find_first_of(",:;^ ") == std::string::npos;
  f.run.algorithm = one_algorithm ? algo : "nccl";
  f.run.ranks = ranks;
  f.run.dtype = log_.rows.front().type;
  f.run.op = log_.rows.front().redop;
  f.run.options = log_.settings;
  std::set<std::string> hosts, devices;
  for (const auto& [r, hd] : log_.ranks) {
    hosts.insert(hd.first);
    devices.insert(hd.second);
  }
  if (!log_.ranks.empty()) f.run.options["hosts"] = hosts.size();
  f.run.options["in_place_columns"] = true;

  std::string device;
  for (const auto& d : devices) device += (device.empty() ? "" : ", ") + d;
  provenance["device"] = device;
  provenance["host"] = log_.ranks.empty() ? std::string("unknown") : log_.ranks.begin()->second.first;
  const std::string library = facts.library.empty() ? "NCCL" : facts.library;
  const std::string tool = !facts.fabtwin_tool.empty() ? facts.fabtwin_tool
                           : library == "RCCL"         ? "rccl-tests"
                                                       : "nccl-tests";
  nlohmann::json& source = provenance["source"];
  source = {{"tool", tool},
            {"format", log_.format},
            {"file", origin_},
            {tool == "rccl-tests" ? "rccl_tests_version" : "nccl_tests_version",
             log_.tests_version.empty() ? "unknown" : log_.tests_version},
            {"test", log_.binary.empty() ? std::string(coll::to_string(c)) : log_.binary},
            {"library", library},
            {"nccl_version", facts.version.empty() ? "unknown" : facts.version},
            {"complete", log_.finished},
            {"ranks", ranks_said}};
  if (!facts.env.empty()) source["nccl_env"] = facts.env;
  if (!facts.command_line.empty()) source["nccl_command_line"] = facts.command_line;
  if (facts.coll_channels > 0) source["coll_channels"] = facts.coll_channels;
  if (!log_.dropped.empty()) source["rows_dropped"] = log_.dropped;
  if (!log_.run_error.empty()) source["nccl_error"] = log_.run_error;
  if (!log_.table_header.empty()) source["table_header"] = log_.table_header;
  f.provenance = provenance;

  add_rows(f, c, ranks);
  if (f.rows.empty()) fail("every row has size 0: nothing to import");
  return f;
}

}  // namespace

std::vector<std::pair<std::string, std::vector<ParsedRow>>> split_series(const std::vector<ParsedRow>& rows) {
  std::set<std::int32_t> roots;
  for (const auto& r : rows) roots.insert(r.root);
  const bool with_root = roots.size() > 1;
  std::vector<std::pair<std::string, std::vector<ParsedRow>>> out;
  for (const auto& r : rows) {
    const std::string name = series_name(r, with_root);
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& s) { return s.first == name; });
    if (it == out.end()) it = out.insert(out.end(), {name, {}});
    it->second.push_back(r);
  }
  return out;
}

ResultFile build_results(const std::string& origin, const NcclImportOptions& options, const ParsedLog& log,
                         nlohmann::json provenance) {
  return Builder(origin, options, log).build(std::move(provenance));
}

}  // namespace fabtwin::results::nccl_words
