#include "fabtwin/backend/endpoint.hpp"

namespace fabtwin::backend {

Seconds local_step_time(const coll::Step& step, const EndpointCosts& costs) {
  switch (step.kind) {
    case coll::StepKind::reduce:
      return costs.reduce_time(Bytes(step.src.bytes));
    case coll::StepKind::copy:
      return costs.copy_time(Bytes(step.src.bytes));
    case coll::StepKind::send:
    case coll::StepKind::recv:
      break;
  }
  return Seconds(0);
}

}  // namespace fabtwin::backend
