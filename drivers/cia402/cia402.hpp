// CiA 402 (IEC 61800-7-201 / CiA 402-2) drive profile, the one implementation of its protocol
// logic, as pure functions: no I/O, no allocation, callable from the RT thread. Used by both
// buses that speak CiA 402 -- CANopen (drivers/can/cia402.*) and EtherCAT CoE (drivers/ethercat/)
// -- and by the one virtual drive (virtual_drive.hpp here), which the EtherCAT virtual slave and
// the CANopen virtual node (src/humanoid_rt/can/cia402.py, through the bindings) both run.
//
// Power drive system state machine (CiA 402-2, "finite state automaton"), transitions by number:
//   0  Start -> Not ready to switch on              automatic
//   1  Not ready to switch on -> Switch on disabled  automatic (self test done)
//   2  Switch on disabled -> Ready to switch on      Shutdown            0xxx x110  (0x06)
//   3  Ready to switch on -> Switched on             Switch on           0xxx 0111  (0x07)
//   3+4 Ready to switch on -> Operation enabled      Switch on + enable  0xxx 1111  (0x0F)
//   4  Switched on -> Operation enabled              Enable operation    0xxx 1111  (0x0F)
//   5  Operation enabled -> Switched on              Disable operation   0xxx 0111  (0x07)
//   6  Switched on -> Ready to switch on             Shutdown            0xxx x110
//   7  Ready to switch on -> Switch on disabled      Disable voltage 0xxx xx0x / Quick stop 0xxx x01x
//   8  Operation enabled -> Ready to switch on       Shutdown
//   9  Operation enabled -> Switch on disabled       Disable voltage     0xxx xx0x  (0x00)
//   10 Switched on -> Switch on disabled             Disable voltage / Quick stop
//   11 Operation enabled -> Quick stop active        Quick stop          0xxx x01x  (0x02)
//   12 Quick stop active -> Switch on disabled       Disable voltage, or automatically when the
//                                                    quick stop is done and 0x605A is 1..4 (0:
//                                                    at once, "disable drive function")
//   13 any -> Fault reaction active                  a fault
//   14 Fault reaction active -> Fault                automatic (reaction done)
//   15 Fault -> Switch on disabled                   Fault reset: rising edge of bit 7 (0x80)
//   16 Quick stop active -> Operation enabled        Enable operation, only if 0x605A is 5..8
// Bit 7 set selects the fault-reset command, so outside Fault it causes no transition.
//
// Statusword 0x6041 decodes with the masks of CiA 402-2 (x = bit ignored; bit 4 voltage enabled,
// bit 9 remote and the manufacturer bits are not part of the state):
//   xxxx xxxx x0xx 0000  0x4F/0x00  Not ready to switch on
//   xxxx xxxx x1xx 0000  0x4F/0x40  Switch on disabled
//   xxxx xxxx x01x 0001  0x6F/0x21  Ready to switch on
//   xxxx xxxx x01x 0011  0x6F/0x23  Switched on
//   xxxx xxxx x01x 0111  0x6F/0x27  Operation enabled
//   xxxx xxxx x00x 0111  0x6F/0x07  Quick stop active
//   xxxx xxxx x0xx 1111  0x4F/0x0F  Fault reaction active
//   xxxx xxxx x0xx 1000  0x4F/0x08  Fault
//
// Quick stop option code 0x605A (what a drive does on Quick stop in Operation enabled):
//   0 disable drive function (torque off at once, coast) -> Switch on disabled
//   1 / 2 / 3 / 4  stop on the slow-down ramp / quick-stop ramp / current limit / voltage limit,
//                  then Switch on disabled
//   5 / 6 / 7 / 8  the same, then stay in Quick stop active (holding, torque on)
//
// Stop categories (IEC 60204-1, the supervisor's `estop_category`) map onto the profile in one
// place, stop_reaction() below, for every bus and drive:
//   category 0  STO-like, uncontrolled stop: torque off (`torque_enabled` 0) is sent as Disable
//               voltage 0x00 in every state (transitions 7, 9, 10, 12: the power stage is off in
//               the next cycle, the motor coasts); 0x605A = 0, so a Quick stop the drive receives
//               from elsewhere (deactivate, a bus glitch) also removes torque at once.
//   category 1  SS1, controlled stop then torque off: Quick stop 0x02 from Operation enabled /
//               Quick stop active (transition 11), 0x605A = 2 (quick-stop ramp, then transition 12
//               by itself); Disable voltage 0x00 in the other states, where there is no torque.
//   category 2  SS2, controlled stop and hold: as 1, with 0x605A = 6 (stay in Quick stop active).
// Earlier the EtherCAT bus sent Quick stop 0x02 for category 0 (relying on 0x605A = 0: transitions
// 11 + 12) while the CANopen bus sent Disable voltage 0x00 (transition 9); both now send 0x00. A
// drive ends in Switch on disabled in the same cycle either way; 0x00 does not depend on the
// drive honouring 0x605A = 0.
#pragma once

#include <cmath>
#include <cstdint>

namespace humanoid_rt::cia402 {

enum class State : std::uint8_t {
  kNotReadyToSwitchOn = 0,
  kSwitchOnDisabled = 1,
  kReadyToSwitchOn = 2,
  kSwitchedOn = 3,
  kOperationEnabled = 4,
  kQuickStopActive = 5,
  kFaultReactionActive = 6,
  kFault = 7,
};

const char* state_name(State s);

// Statusword 0x6041 -> state (mask/value pairs of CiA 402).
constexpr State decode_statusword(std::uint16_t sw) {
  if ((sw & 0x4F) == 0x00) return State::kNotReadyToSwitchOn;
  if ((sw & 0x4F) == 0x40) return State::kSwitchOnDisabled;
  if ((sw & 0x6F) == 0x21) return State::kReadyToSwitchOn;
  if ((sw & 0x6F) == 0x23) return State::kSwitchedOn;
  if ((sw & 0x6F) == 0x27) return State::kOperationEnabled;
  if ((sw & 0x6F) == 0x07) return State::kQuickStopActive;
  if ((sw & 0x4F) == 0x0F) return State::kFaultReactionActive;
  if ((sw & 0x4F) == 0x08) return State::kFault;
  return State::kNotReadyToSwitchOn;
}

// State -> statusword 0x6041 bits of the state (the values the masks above decode; the drive adds
// "voltage enabled" 0x0010 and "remote" 0x0200 itself).
constexpr std::uint16_t statusword_value(State s) {
  switch (s) {
    case State::kNotReadyToSwitchOn: return 0x0000;
    case State::kSwitchOnDisabled: return 0x0040;
    case State::kReadyToSwitchOn: return 0x0021;
    case State::kSwitchedOn: return 0x0023;
    case State::kOperationEnabled: return 0x0027;
    case State::kQuickStopActive: return 0x0007;
    case State::kFaultReactionActive: return 0x000F;
    case State::kFault: return 0x0008;
  }
  return 0x0000;
}

// Controlword 0x6040 commands (bits 7, 3, 2, 1, 0 as in the table above).
inline constexpr std::uint16_t kShutdown = 0x0006;
inline constexpr std::uint16_t kSwitchOn = 0x0007;
inline constexpr std::uint16_t kDisableOperation = 0x0007;
inline constexpr std::uint16_t kEnableOperation = 0x000F;
inline constexpr std::uint16_t kDisableVoltage = 0x0000;
inline constexpr std::uint16_t kQuickStop = 0x0002;
inline constexpr std::uint16_t kFaultReset = 0x0080;  // acts on the rising edge of bit 7

// ---- master side ---------------------------------------------------------------------------

// A stop category's mapping onto the profile (see the header comment).
struct StopReaction {
  std::int16_t quick_stop_option;  // written to 0x605A at bring-up
  bool quick_stop;                 // torque off as Quick stop 0x02 (from Operation enabled / Quick stop
                                   // active); false: Disable voltage 0x00
};
constexpr StopReaction stop_reaction(int category) {
  return category <= 0 ? StopReaction{0, false} : category == 1 ? StopReaction{2, true} : StopReaction{6, true};
}
constexpr std::int16_t quick_stop_option_for_category(int category) {
  return stop_reaction(category).quick_stop_option;
}

// The controlword that moves a drive in `s` one transition toward what the loop wants:
//   torque_on        walk Switch on disabled -> Ready -> Switched on -> Operation enabled (2, 3, 4);
//                    Quick stop active is left through Switch on disabled (12, then 2, 3, 4);
//   torque off       per stop_category (stop_reaction());
//   Fault            Disable voltage, or Fault reset 0x80 when `fault_reset_bit` (the caller paces
//                    the edge: low, then high for one cycle); Fault reaction active and Not ready
//                    to switch on: Disable voltage (the drive leaves them by itself).
constexpr std::uint16_t next_controlword(State s, bool torque_on, int stop_category, bool fault_reset_bit) {
  switch (s) {
    case State::kFault: return fault_reset_bit ? kFaultReset : kDisableVoltage;
    case State::kFaultReactionActive:
    case State::kNotReadyToSwitchOn: return kDisableVoltage;
    default: break;
  }
  if (!torque_on) {
    const bool torque_to_stop = s == State::kOperationEnabled || s == State::kQuickStopActive;
    return stop_reaction(stop_category).quick_stop && torque_to_stop ? kQuickStop : kDisableVoltage;
  }
  switch (s) {
    case State::kSwitchOnDisabled: return kShutdown;
    case State::kReadyToSwitchOn: return kSwitchOn;
    case State::kSwitchedOn:
    case State::kOperationEnabled: return kEnableOperation;
    default: return kDisableVoltage;  // Quick stop active
  }
}

// ---- device side (the virtual drive) -------------------------------------------------------

// Whether a drive with quick stop option `option` ends a finished quick stop in Switch on
// disabled (transition 12 by itself: 1..4) rather than holding in Quick stop active (5..8).
constexpr bool quick_stop_ends_disabled(std::int16_t option) { return option >= 1 && option <= 4; }

// The state a drive in `s` goes to on controlword `cw` (`previous_cw`: the one before, for the
// edge of bit 7; `fault_cleared`: the cause of a fault is gone, so a reset may succeed).
// Faults themselves (transition 13) and the end of a quick stop ramp (12 by itself) are the
// drive's own events, not controlword transitions.
constexpr State device_transition(State s, std::uint16_t cw, std::uint16_t previous_cw,
                                  std::int16_t quick_stop_option, bool fault_cleared) {
  if (s == State::kNotReadyToSwitchOn) return State::kSwitchOnDisabled;  // 1
  if (s == State::kFaultReactionActive) return State::kFault;            // 14: the reaction takes one cycle
  if (s == State::kFault) {
    const bool rising_reset = (cw & kFaultReset) && !(previous_cw & kFaultReset);
    return rising_reset && fault_cleared ? State::kSwitchOnDisabled : State::kFault;  // 15
  }
  if (cw & kFaultReset) return s;  // the fault-reset command outside Fault: no transition
  const bool disable_voltage = (cw & 0x02) == 0x00;
  const bool quick_stop = (cw & 0x06) == 0x02;
  const bool shutdown = (cw & 0x07) == 0x06;
  const bool switch_on = (cw & 0x0F) == 0x07;  // also Disable operation
  const bool enable = (cw & 0x0F) == 0x0F;
  switch (s) {
    case State::kSwitchOnDisabled:
      return shutdown ? State::kReadyToSwitchOn : s;  // 2
    case State::kReadyToSwitchOn:
      if (disable_voltage || quick_stop) return State::kSwitchOnDisabled;  // 7
      if (switch_on) return State::kSwitchedOn;                            // 3
      if (enable) return State::kOperationEnabled;                         // 3 + 4
      return s;
    case State::kSwitchedOn:
      if (disable_voltage || quick_stop) return State::kSwitchOnDisabled;  // 10
      if (shutdown) return State::kReadyToSwitchOn;                        // 6
      if (enable) return State::kOperationEnabled;                         // 4
      return s;
    case State::kOperationEnabled:
      if (disable_voltage) return State::kSwitchOnDisabled;  // 9
      if (quick_stop)                                        // 11 (option 0: and 12 at once)
        return quick_stop_option == 0 ? State::kSwitchOnDisabled : State::kQuickStopActive;
      if (shutdown) return State::kReadyToSwitchOn;  // 8
      if (switch_on) return State::kSwitchedOn;      // 5
      return s;
    case State::kQuickStopActive:
      if (disable_voltage) return State::kSwitchOnDisabled;                                            // 12
      if (enable && quick_stop_option >= 5 && quick_stop_option <= 8) return State::kOperationEnabled;  // 16
      return s;
    default:
      return s;
  }
}

// Modes of operation 0x6060.
enum class Mode : std::int8_t { kCsp = 8, kCsv = 9, kCst = 10 };

// Units: the drive speaks counts, counts/s and per mille of rated torque (0x6076, mNm);
// the bus interface speaks motor-side rad, rad/s and Nm.
struct Units {
  double counts_per_rad = 1.0;   // 0x608F:01 / 0x608F:02 / (2 pi)
  double rated_torque_nm = 1.0;  // 0x6076 / 1000

  double position_rad(std::int32_t counts) const { return counts / counts_per_rad; }
  double velocity_rad_s(std::int32_t counts_per_s) const { return counts_per_s / counts_per_rad; }
  double torque_nm(std::int16_t per_mille) const { return per_mille * rated_torque_nm / 1000.0; }
  std::int32_t position_counts(double rad) const { return saturate32(std::nearbyint(rad * counts_per_rad)); }
  std::int32_t velocity_counts(double rad_s) const { return saturate32(std::nearbyint(rad_s * counts_per_rad)); }
  std::int16_t torque_per_mille(double nm) const {
    const double v = std::nearbyint(nm / rated_torque_nm * 1000.0);
    if (!(v == v)) return 0;  // NaN: the supervisor faults on it; never send it
    return static_cast<std::int16_t>(v > 32767.0 ? 32767.0 : v < -32768.0 ? -32768.0 : v);
  }
  static std::int32_t saturate32(double v) {
    if (!(v == v)) return 0;
    return static_cast<std::int32_t>(v > 2147483647.0 ? 2147483647.0 : v < -2147483648.0 ? -2147483648.0 : v);
  }
};

}  // namespace humanoid_rt::cia402
