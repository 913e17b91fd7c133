#include "fabtwin/budget.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <stdexcept>

namespace fabtwin {

namespace {

std::atomic<std::uint64_t> configured{0};

Bytes physical_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return Bytes(std::uint64_t{8} << 30);  // unknown: a small machine
  return Bytes(static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page));
}

std::string gib(double bytes) {
  char buf[32];
  const double mib = bytes / (1024.0 * 1024.0);
  if (mib < 1024) {
    std::snprintf(buf, sizeof buf, mib < 10 ? "%.1f MiB" : "%.0f MiB", mib);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f GiB", mib / 1024.0);
  }
  return buf;
}

}  // namespace

Bytes memory_budget() {
  const std::uint64_t set = configured.load();
  return set > 0 ? Bytes(set) : Bytes(physical_memory().count() / 2);
}

void set_memory_budget(Bytes b) {
  configured.store(b.count());
}

void check_memory(const std::string& what, double estimate_bytes, const std::string& lower_it) {
  const double budget = static_cast<double>(memory_budget().count());
  if (!(estimate_bytes > budget)) return;
  throw std::invalid_argument(what + " would need about " + gib(estimate_bytes) + ", more than the " +
                              gib(budget) + " budget (--max-memory; by default half of this machine's " +
                              gib(static_cast<double>(physical_memory().count())) + "): " + lower_it);
}

}  // namespace fabtwin
