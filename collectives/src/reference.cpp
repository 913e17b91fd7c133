#include "fabtwin/coll/reference.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>

namespace fabtwin::coll {

OutputSource output_source(const Plan& plan, std::int32_t rank, std::uint64_t out_index) {
  const std::int32_t n = plan.group_ranks();
  const std::uint64_t block = n > 0 ? plan.count / static_cast<std::uint64_t>(n) : 0;
  const auto r = static_cast<std::uint64_t>(rank);
  switch (plan.collective) {
    case Collective::all_reduce:
    case Collective::reduce:
      return {true, 0, out_index};
    case Collective::reduce_scatter:
      return {true, 0, r * block + out_index};
    case Collective::all_gather:
      return {false, static_cast<std::int32_t>(out_index / block), out_index % block};
    case Collective::broadcast:
      return {false, plan.root, out_index};
    case Collective::all_to_all:
      return {false, static_cast<std::int32_t>(out_index / block), r * block + out_index % block};
  }
  throw std::invalid_argument("output_source: unknown collective");
}

double reduce_values(ReduceOp op, double acc, double x) {
  switch (op) {
    case ReduceOp::sum:
      return acc + x;
    case ReduceOp::prod:
      return acc * x;
    case ReduceOp::min:
      return std::min(acc, x);
    case ReduceOp::max:
      return std::max(acc, x);
  }
  throw std::invalid_argument("reduce_values: unknown reduction");
}

std::pair<std::uint64_t, std::uint64_t> in_place_offsets(const Plan& plan, std::int32_t r) {
  switch (plan.collective) {
    case Collective::reduce_scatter:
      return {0, r * plan.ranks[r].output_bytes};
    case Collective::all_gather:
      return {r * plan.ranks[r].input_bytes, 0};
    default:
      return {0, 0};
  }
}

ReferenceBackend::ReferenceBackend(const Plan& plan, std::vector<RankBuffers>& buffers, bool in_place)
    : plan_(plan), buffers_(buffers), in_place_(in_place) {
  if (buffers_.size() != plan.ranks.size())
    throw std::invalid_argument("ReferenceBackend: one RankBuffers per rank");
  if (in_place_ && plan.collective == Collective::all_to_all) {
    // Receives would overwrite input blocks not yet sent; NCCL does not offer it either.
    throw std::invalid_argument("all_to_all cannot run in place: use separate input and output buffers");
  }
  for (std::size_t r = 0; r < buffers_.size(); ++r) {
    const RankPlan& rp = plan.ranks[r];
    auto& b = buffers_[r];
    if (b.input.size() < rp.input_bytes)
      throw std::invalid_argument("ReferenceBackend: input buffer too small");
    b.scratch.resize(rp.scratch_bytes);
    const auto offsets = in_place_ ? in_place_offsets(plan, static_cast<std::int32_t>(r))
                                   : std::pair<std::uint64_t, std::uint64_t>{0, 0};
    offsets_.push_back(offsets);
    if (in_place_) {
      b.output.resize(std::max(offsets.first + rp.input_bytes, offsets.second + rp.output_bytes));
      // An empty vector's data() may be null, which memcpy must not see even for zero bytes.
      if (rp.input_bytes > 0) std::memcpy(b.output.data() + offsets.first, b.input.data(), rp.input_bytes);
    } else {
      b.output.resize(rp.output_bytes);
    }
  }
}

std::byte* ReferenceBackend::address(std::int32_t rank, const Region& r) {
  auto& b = buffers_[rank];
  std::uint64_t base = 0;
  std::vector<std::byte>* v = nullptr;
  switch (r.buffer) {
    case BufferKind::input:
      v = in_place_ ? &b.output : &b.input;
      base = offsets_[rank].first;
      break;
    case BufferKind::output:
      v = &b.output;
      base = offsets_[rank].second;
      break;
    case BufferKind::scratch:
      v = &b.scratch;
      break;
  }
  if (base + r.end() > v->size()) throw std::out_of_range("ReferenceBackend: region outside its buffer");
  return v->data() + base + r.offset;
}

void ReferenceBackend::post(StepRef ref, Seconds) {
  const Step& s = plan_.ranks[ref.rank].steps[ref.step];
  const Completion done{ref, Seconds(0), Seconds(0)};
  switch (s.kind) {
    case StepKind::copy:
      if (s.src.bytes > 0) std::memmove(address(ref.rank, s.dst), address(ref.rank, s.src), s.src.bytes);
      done_.push_back(done);
      return;
    case StepKind::reduce:
      if (s.src.bytes > 0) {
        reduce_into(plan_.dtype, plan_.op, address(ref.rank, s.dst), address(ref.rank, s.src),
                    s.src.bytes / element_size(plan_.dtype));
      }
      done_.push_back(done);
      return;
    case StepKind::send:
    case StepKind::recv:
      break;
  }
  const bool is_send = s.kind == StepKind::send;
  const TransferKey key =
      is_send ? TransferKey{ref.rank, s.peer, s.tag} : TransferKey{s.peer, ref.rank, s.tag};
  auto& mine = is_send ? waiting_sends_ : waiting_recvs_;
  auto& theirs = is_send ? waiting_recvs_ : waiting_sends_;
  auto it = theirs.find(key);
  if (it == theirs.end()) {
    mine.emplace(key, ref);
    return;
  }
  const StepRef other = it->second;
  theirs.erase(it);
  const StepRef send_ref = is_send ? ref : other;
  const StepRef recv_ref = is_send ? other : ref;
  const Step& send = plan_.ranks[send_ref.rank].steps[send_ref.step];
  const Step& recv = plan_.ranks[recv_ref.rank].steps[recv_ref.step];
  if (send.src.bytes > 0) {
    std::memmove(address(recv_ref.rank, recv.dst), address(send_ref.rank, send.src), send.src.bytes);
  }
  done_.push_back({send_ref, Seconds(0), Seconds(0)});
  done_.push_back({recv_ref, Seconds(0), Seconds(0)});
}

std::vector<Completion> ReferenceBackend::progress() {
  std::vector<Completion> out;
  out.swap(done_);
  return out;
}

namespace {

double unit_roundoff(DataType t) {
  switch (t) {
    case DataType::float32:
      return std::ldexp(1.0, -24);
    case DataType::float64:
      return std::ldexp(1.0, -53);
    case DataType::float16:
      return std::ldexp(1.0, -11);
    case DataType::bfloat16:
      return std::ldexp(1.0, -8);
    default:
      return 0.0;
  }
}

double smallest_step(DataType t) {
  switch (t) {
    case DataType::float16:
      return std::ldexp(1.0, -24);
    case DataType::bfloat16:
      return std::ldexp(1.0, -133);
    case DataType::float32:
      return std::ldexp(1.0, -149);
    default:
      return 0.0;
  }
}

void fill_input(DataType t, ReduceOp op, std::vector<std::byte>& buf, std::mt19937_64& rng) {
  const std::size_t n = buf.size() / element_size(t);
  if (is_floating(t)) {
    // Products stay near 1 so hundreds of ranks neither overflow nor underflow.
    std::uniform_real_distribution<double> dist = op == ReduceOp::prod
                                                      ? std::uniform_real_distribution<double>(0.97, 1.03)
                                                      : std::uniform_real_distribution<double>(-1.0, 1.0);
    for (std::size_t i = 0; i < n; ++i) store_from_double(t, buf.data(), i, dist(rng));
  } else {
    std::uniform_int_distribution<int> dist(-1000, 1000);
    for (std::size_t i = 0; i < n; ++i) store_from_double(t, buf.data(), i, dist(rng));
  }
}

// The expected element from the contributions, and how far a correct implementation may stray.
struct Expected {
  double value;
  double tolerance;
};

struct Oracle {
  const Plan& plan;
  const std::vector<RankBuffers>& inputs;

  // Integers are reduced in their own wrapping arithmetic with the same kernel, so expectations are
  // exact; floating point is reduced in double and given the classic n*u*sum|x| error bound.
  Expected reduced(std::uint64_t input_index) const {
    const DataType t = plan.dtype;
    const std::size_t es = element_size(t);
    if (!is_floating(t)) {
      std::vector<std::byte> acc(es);
      std::memcpy(acc.data(), inputs[0].input.data() + input_index * es, es);
      for (std::size_t r = 1; r < inputs.size(); ++r) {
        reduce_into(t, plan.op, acc.data(), inputs[r].input.data() + input_index * es, 1);
      }
      return {element_as_double(t, acc.data(), 0), 0.0};
    }
    double acc = element_as_double(t, inputs[0].input.data(), input_index);
    double abs_sum = std::fabs(acc);
    for (std::size_t r = 1; r < inputs.size(); ++r) {
      const double x = element_as_double(t, inputs[r].input.data(), input_index);
      abs_sum += std::fabs(x);
      acc = reduce_values(plan.op, acc, x);
    }
    const double n = static_cast<double>(inputs.size());
    const double u = unit_roundoff(t);
    double tol = 0.0;
    if (plan.op == ReduceOp::sum) tol = (n + 1) * u * abs_sum + smallest_step(t);
    if (plan.op == ReduceOp::prod) tol = 2.0 * (n + 1) * u * std::fabs(acc) + smallest_step(t);
    return {acc, tol};
  }

  Expected copied(std::int32_t rank, std::uint64_t input_index) const {
    return {element_as_double(plan.dtype, inputs[rank].input.data(), input_index), 0.0};
  }
};

}  // namespace

VerifyResult verify_plan(const Plan& plan, std::uint64_t seed, bool in_place) {
  const std::int32_t n = plan.rank_count();
  std::vector<RankBuffers> buffers(n);
  std::mt19937_64 rng(seed);
  for (std::int32_t r = 0; r < n; ++r) {
    buffers[r].input.resize(plan.ranks[r].input_bytes);
    fill_input(plan.dtype, plan.op, buffers[r].input, rng);
  }
  const std::vector<RankBuffers> inputs(buffers.begin(), buffers.begin() + plan.group_ranks());
  ReferenceBackend backend(plan, buffers, in_place);
  run_plan(plan, backend);

  const Oracle oracle{plan, inputs};
  const std::size_t es = element_size(plan.dtype);
  // Every rank checks against the same reductions: compute each once, not once per rank.
  std::vector<Expected> reductions;
  if (has_reduction(plan.collective)) {
    const std::uint64_t elements = plan.ranks[0].input_bytes / es;
    reductions.reserve(elements);
    for (std::uint64_t i = 0; i < elements; ++i) reductions.push_back(oracle.reduced(i));
  }
  VerifyResult result;
  for (std::int32_t r = 0; r < n; ++r) {
    const std::uint64_t out_elems = plan.ranks[r].output_bytes / es;
    const std::uint64_t out_base = in_place ? in_place_offsets(plan, r).second / es : 0;
    for (std::uint64_t i = 0; i < out_elems; ++i) {
      const OutputSource src = output_source(plan, r, i);
      const Expected e = src.reduced ? reductions[src.index] : oracle.copied(src.rank, src.index);
      const double got = element_as_double(plan.dtype, buffers[r].output.data(), out_base + i);
      ++result.checked_elements;
      const bool ok = std::fabs(got - e.value) <= e.tolerance || (std::isnan(got) && std::isnan(e.value));
      if (!ok && result.ok) {
        std::ostringstream msg;
        msg.precision(9);
        msg << "rank " << r << " output element " << i << ": expected " << e.value << " (tolerance "
            << e.tolerance << "), got " << got;
        result.ok = false;
        result.message = msg.str();
      }
    }
  }
  if (result.ok) result.message = "PASS: " + std::to_string(result.checked_elements) + " elements checked";
  return result;
}

}  // namespace fabtwin::coll
