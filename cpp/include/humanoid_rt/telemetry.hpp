// Fixed-size records the loop publishes for non-RT readers.
#pragma once

#include <array>
#include <cstdint>

#include "humanoid_rt/base_sensors.hpp"
#include "humanoid_rt/safety_supervisor.hpp"
#include "humanoid_rt/types.hpp"
#include "humanoid_rt/whole_body_impedance.hpp"

namespace humanoid_rt {

// Floating base: how the robot keeps its balance in one cycle, for the recording of a standing robot.
// Only the figures a recording needs (the full QP status stays in ContactWbc::read_status()).
// Fields of a part that did not run this cycle are NaN (0 / false for the flags).
struct BalanceSample {
  // The contact QP (contact_wbc.hpp, StandingStatus) when it ran this cycle.
  bool qp_ran = false;                          // the standing controller computed the torque this cycle
  bool qp_ok = false;                           // ... and its QP solved (else: its fallback torque)
  std::array<double, 3> com{}, com_reference{};  // [m] estimator's world frame
  double com_margin = 0.0;                       // CoM (x, y) to the support polygon's edge [m], > 0 inside
  std::array<double, kMaxContacts> cop_margin{};    // per foot: CoP to the nearest sole edge [m]
  std::array<double, kMaxContacts> normal_force{};  // per foot [N], from the QP's contact wrench
  // The fall detector (fall_detector.hpp) when it was armed this cycle.
  bool fall_checked = false;
  double tilt = 0.0;          // base tilt from world z [rad]
  double com_distance = 0.0;  // CoM projection from the support polygon's border [m], > 0 outside
};

// One cycle, pushed into the telemetry ring (every `telemetry_decimation` cycles). Every field is
// written by the loop thread in ControlLoop::publish() into a claimed ring slot and read by the
// ring's one consumer (drain_telemetry, under the telemetry mutex) after the commit hands it over.
struct TelemetrySample {
  std::uint64_t cycle = 0;
  double t = 0.0;
  SupervisorState state = SupervisorState::kDisabled;
  Reason reason = Reason::kNone;  // reason of the last transition
  std::uint32_t compute_ns = 0;   // the previous cycle's compute time (0 in stepped mode)
  JointVector q{};                // measured, joint side
  JointVector dq{};
  JointVector tau_measured{};
  JointVector q_ref{};            // reference after interpolation and SLI
  JointVector dq_ref{};
  JointVector tau_command{};      // after the safety layer (what the drive is asked to produce)
  // The setpoint in the interpolator: a recorder logs one "setpoint received" record per new sequence,
  // with its source and latency (applied_t - t_written; both loop time).
  std::uint64_t setpoint_sequence = 0;
  SetpointSource setpoint_source = SetpointSource::kApi;
  double setpoint_t_written = 0.0;
  double setpoint_applied_t = 0.0;
  double setpoint_t_target = 0.0;
  BaseState base{};  // floating base: the estimator's state and covariance diagonal (valid = false without one)
  ImuSample imu{};    // floating base: the IMU sample the estimator used (sequence 0: none yet)
  BalanceSample balance{};  // floating base: contact QP status and fall-detector figures
};

// The latest state, published through a triple buffer every cycle.
struct StateSnapshot {
  std::uint64_t cycle = 0;
  double t = 0.0;
  SupervisorState state = SupervisorState::kDisabled;
  SafetyEvent last_event{};
  std::uint64_t setpoint_sequence_applied = 0;
  double setpoint_applied_t = 0.0;  // loop time that setpoint entered the interpolator (clock time in real time)
  double enable_ramp = 0.0;
  JointVector q{}, dq{}, tau_measured{}, temperature_c{};
  JointVector q_ref{}, dq_ref{}, tau_command{};
  std::array<std::uint16_t, kMaxJoints> drive_error{};
  JointFlags fresh{};
  std::array<TaskStatus, kMaxTasks> tasks{};  // whole-body task errors (enabled tasks only)
  BaseState base{};  // floating base: the estimator's state (valid = false without one)
  ImuSample imu{};   // floating base: the IMU sample the estimator used
  std::array<FootSample, kMaxContacts> feet{};  // and the foot forces (when the sensors measure them)
};

}  // namespace humanoid_rt
