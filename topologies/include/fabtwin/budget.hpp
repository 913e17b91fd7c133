// How much memory one fabtwin process may plan to use. Builders of large things (topologies, plans,
// packet models) estimate their memory from their parameters first and refuse, with the estimate, what
// would not fit, rather than thrash the machine or be killed halfway.
#pragma once

#include <string>

#include "fabtwin/units.hpp"

namespace fabtwin {

// Half of this machine's physical memory unless set_memory_budget() (the --max-memory option) says
// otherwise: the other half is for the operating system, the other jobs and the peaks of our own.
Bytes memory_budget();
void set_memory_budget(Bytes b);

// Throws std::invalid_argument when `estimate` exceeds the budget: "`what` would need about 5.2 GiB,
// more than the 4 GiB budget (--max-memory, default half of this machine's memory): `lower_it`".
void check_memory(const std::string& what, double estimate_bytes, const std::string& lower_it);

}  // namespace fabtwin
