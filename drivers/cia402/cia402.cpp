#include "cia402/cia402.hpp"

namespace humanoid_rt::cia402 {

const char* state_name(State s) {
  switch (s) {
    case State::kNotReadyToSwitchOn: return "NOT_READY_TO_SWITCH_ON";
    case State::kSwitchOnDisabled: return "SWITCH_ON_DISABLED";
    case State::kReadyToSwitchOn: return "READY_TO_SWITCH_ON";
    case State::kSwitchedOn: return "SWITCHED_ON";
    case State::kOperationEnabled: return "OPERATION_ENABLED";
    case State::kQuickStopActive: return "QUICK_STOP_ACTIVE";
    case State::kFaultReactionActive: return "FAULT_REACTION_ACTIVE";
    case State::kFault: return "FAULT";
  }
  return "?";
}

}  // namespace humanoid_rt::cia402
