#include "fabtwin/backend/whatif.hpp"

#include <stdexcept>
#include <string>

namespace fabtwin::backend {

namespace {
constexpr topo::NodeId kNone = UINT32_MAX;
}  // namespace

const char* to_string(Routing r) {
  switch (r) {
    case Routing::ecmp:
      return "ecmp";
    case Routing::spray:
      return "spray";
    case Routing::adaptive:
      return "adaptive";
  }
  return "?";
}

Routing routing_from_string(const std::string& name) {
  if (name == "ecmp") return Routing::ecmp;
  if (name == "spray") return Routing::spray;
  if (name == "adaptive") return Routing::adaptive;
  throw std::invalid_argument("unknown routing \"" + name + "\" (known: ecmp, spray, adaptive)");
}

LinkEvent parse_link_event(const std::string& text, const topo::Topology& topology) {
  auto bad = [&](const std::string& why) -> std::invalid_argument {
    return std::invalid_argument("link event \"" + text + "\": " + why +
                                 " (expected NODE_A/NODE_B@TIME to fail a link or NODE_A/NODE_B@TIME=FACTOR "
                                 "to run it at a fraction of its rate, e.g. leaf0/spine1@20us=0.5)");
  };
  const auto slash = text.find('/');
  const auto at = text.find('@');
  if (slash == std::string::npos || at == std::string::npos || at < slash) throw bad("missing '/' or '@'");
  const std::string a = text.substr(0, slash);
  const std::string b = text.substr(slash + 1, at - slash - 1);
  std::string when = text.substr(at + 1);
  LinkEvent e;
  if (const auto eq = when.find('='); eq != std::string::npos) {
    const std::string f = when.substr(eq + 1);
    when = when.substr(0, eq);
    std::size_t used = 0;
    try {
      e.factor = std::stod(f, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != f.size() || !(e.factor > 0.0) || e.factor > 1.0) {
      throw bad("factor \"" + f + "\" must be a number in (0, 1]; use no factor to fail the link");
    }
  }
  try {
    e.at = parse_duration(when);
  } catch (const std::invalid_argument& err) {
    throw bad(std::string("time: ") + err.what());
  }
  if (e.at.count() < 0) throw bad("time must not be negative");
  topo::NodeId na = kNone, nb = kNone;
  for (const auto& n : topology.nodes) {
    if (n.name == a) na = n.id;
    if (n.name == b) nb = n.id;
  }
  if (na == kNone) throw bad("no node named \"" + a + "\" in " + topology.name);
  if (nb == kNone) throw bad("no node named \"" + b + "\" in " + topology.name);
  for (const auto& l : topology.links) {
    if ((l.a == na && l.b == nb) || (l.a == nb && l.b == na)) {
      e.link = l.id;
      return e;
    }
  }
  throw bad("no link joins " + a + " and " + b);
}

}  // namespace fabtwin::backend
