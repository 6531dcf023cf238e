// Fixed-capacity value types exchanged between the RT loop, the buses and Python.
//
// Everything here is trivially copyable and sized at compile time so the RT
// thread can copy it through triple buffers and rings without allocating.
#pragma once

#include <array>
#include <cstdint>

namespace humanoid_rt {

// The largest robot the core handles. 64 covers full-size humanoids with
// dexterous hands (Unitree G1 with hands: 43 actuated joints, Romeo: 55).
inline constexpr int kMaxJoints = 64;

using JointVector = std::array<double, kMaxJoints>;
using JointFlags = std::array<std::uint8_t, kMaxJoints>;

// Measured state of every joint. The same layout is used on the motor side
// (what a bus reports) and on the joint side (after the Transmission).
struct JointState {
  JointVector q{};              // position [rad]
  JointVector dq{};             // velocity [rad/s]
  JointVector tau{};            // measured torque [Nm]
  JointVector temperature_c{};  // drive/winding temperature [degC]
  std::array<std::uint16_t, kMaxJoints> drive_error{};  // 0 = no error; else the drive's code
  JointFlags fresh{};           // 1 = a reply arrived this cycle; 0 = values are the last known ones
};

// How a joint's drive is commanded.
enum class CommandMode : std::uint8_t {
  kTorque = 0,          // the loop closes impedance; the drive receives torque only
  kDriveImpedance = 1,  // the drive closes tau = kp (q - q_m) + kd (dq - dq_m) + tau_ff itself (MIT style)
};

// The command for every joint. In kTorque mode only `tau` is meaningful; in
// kDriveImpedance mode the drive evaluates kp (q - q_meas) + kd (dq - dq_meas) + tau.
struct JointCommand {
  JointVector tau{};  // torque [Nm] (kTorque) or feed-forward torque (kDriveImpedance)
  JointVector q{};    // drive-side position target [rad]
  JointVector dq{};   // drive-side velocity target [rad/s]
  JointVector kp{};   // drive-side stiffness [Nm/rad]
  JointVector kd{};   // drive-side damping [Nm s/rad]
  JointFlags torque_enabled{};  // 0 = safe torque off for this joint
  std::array<CommandMode, kMaxJoints> mode{};
};

// Who wrote a setpoint; recorded with it so a log tells teleop from playback from policy.
enum class SetpointSource : std::uint8_t { kApi = 0, kTeleop = 1, kSkill = 2, kPolicy = 3 };

// A joint-space target written by Python, teleop or a policy executor.
struct JointSetpoint {
  std::uint64_t sequence = 0;  // increases with every write; 0 = never written
  double t_target = 0.0;       // loop time [s] at which q should be reached
  double ttl = 0.0;            // seconds after t_written that the stream counts as alive; 0 = never expires
  double t_written = 0.0;      // loop time [s] when the producer wrote it
  JointVector q{};             // [rad]
  JointVector dq{};            // [rad/s], used when has_velocity
  JointVector tau_ff{};        // feed-forward torque [Nm]
  bool has_velocity = false;   // false: the interpolator estimates the end velocity from the stream
  SetpointSource source = SetpointSource::kApi;
};

struct JointGains {
  std::uint64_t sequence = 0;
  JointVector kp{};  // [Nm/rad]
  JointVector kd{};  // [Nm s/rad]
};

}  // namespace humanoid_rt
