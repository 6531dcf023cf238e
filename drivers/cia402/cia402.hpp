// CiA 402 (IEC 61800-7-201) drive state machine and unit conversions, as pure
// functions: statusword in, state out; state + what the loop wants in,
// controlword out. No I/O, no allocation; callable from the RT thread.
// Shared by the drivers that speak CiA 402: EtherCAT (CoE) and CANopen.
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

// Controlword 0x6040 commands.
inline constexpr std::uint16_t kShutdown = 0x0006;
inline constexpr std::uint16_t kSwitchOn = 0x0007;
inline constexpr std::uint16_t kEnableOperation = 0x000F;
inline constexpr std::uint16_t kDisableVoltage = 0x0000;
inline constexpr std::uint16_t kQuickStop = 0x0002;
inline constexpr std::uint16_t kFaultReset = 0x0080;  // acts on the rising edge of bit 7

// The next controlword for a drive in `s`:
//   enable      the loop wants torque (walks SWITCH ON DISABLED -> READY -> SWITCHED ON -> ENABLED);
//   fault_reset pulse bit 7 (only acts in FAULT; the caller sends it for one cycle, then 0);
// With enable false the drive gets Quick stop: from OPERATION ENABLED it reacts per its quick stop
// option code 0x605A (set at bring-up from the supervisor's stop category), otherwise it simply
// ends in SWITCH ON DISABLED (no torque).
constexpr std::uint16_t next_controlword(State s, bool enable, bool fault_reset) {
  if (s == State::kFault || s == State::kFaultReactionActive) return fault_reset ? kFaultReset : kDisableVoltage;
  if (!enable) return kQuickStop;
  switch (s) {
    case State::kSwitchOnDisabled: return kShutdown;
    case State::kReadyToSwitchOn: return kSwitchOn;
    case State::kSwitchedOn: return kEnableOperation;
    case State::kOperationEnabled: return kEnableOperation;
    case State::kQuickStopActive: return kDisableVoltage;  // leave quick stop through SWITCH ON DISABLED
    default: return kShutdown;
  }
}

// Quick stop option code 0x605A for a stop category (IEC 60204-1):
//   0 -> 0: disable drive function at once (torque off, STO-like);
//   1 -> 2: stop on the quick-stop ramp, then SWITCH ON DISABLED (SS1);
//   2 -> 6: stop on the quick-stop ramp and stay in QUICK STOP ACTIVE, holding (SS2).
constexpr std::int16_t quick_stop_option_for_category(int category) {
  return category <= 0 ? 0 : category == 1 ? 2 : 6;
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
