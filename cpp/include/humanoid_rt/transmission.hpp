// Joint side <-> motor side conversion: the one place where gear ratio,
// mounting direction and encoder offset are applied.
//
//   q_motor   = direction * gear * q_joint + offset
//   dq_motor  = direction * gear * dq_joint
//   tau_motor = tau_joint / (direction * gear)          (power is conserved)
//   kp_motor  = kp_joint / gear^2,  kd_motor = kd_joint / gear^2
//
// direction is +1 or -1, gear > 0 (motor units per joint unit). Buses speak
// motor-side units; everything above the bus speaks joint-side units.
#pragma once

#include "humanoid_rt/types.hpp"

namespace humanoid_rt {

struct JointTransmission {
  double gear = 1.0;
  double direction = 1.0;
  double offset = 0.0;
};

class Transmission {
 public:
  // Configuration time only.
  void set(int joint, const JointTransmission& t) { joints_[joint] = t; }
  const JointTransmission& joint(int j) const { return joints_[j]; }

  // The conversions touch the first n joints only (entries past n are left as they are): the loop
  // converts its n joints every cycle, and copying the full kMaxJoints arrays would cost more than
  // the arithmetic.
  void state_to_joint(int n, const JointState& motor, JointState& joint) const {
    for (int j = 0; j < n; ++j) {
      const double ratio = joints_[j].direction * joints_[j].gear;
      joint.q[j] = (motor.q[j] - joints_[j].offset) / ratio;
      joint.dq[j] = motor.dq[j] / ratio;
      joint.tau[j] = motor.tau[j] * ratio;
      joint.temperature_c[j] = motor.temperature_c[j];  // temperatures, errors and freshness pass through
      joint.drive_error[j] = motor.drive_error[j];
      joint.fresh[j] = motor.fresh[j];
    }
  }

  void state_to_motor(int n, const JointState& joint, JointState& motor) const {
    for (int j = 0; j < n; ++j) {
      const double ratio = joints_[j].direction * joints_[j].gear;
      motor.q[j] = joint.q[j] * ratio + joints_[j].offset;
      motor.dq[j] = joint.dq[j] * ratio;
      motor.tau[j] = joint.tau[j] / ratio;
      motor.temperature_c[j] = joint.temperature_c[j];
      motor.drive_error[j] = joint.drive_error[j];
      motor.fresh[j] = joint.fresh[j];
    }
  }

  void command_to_motor(int n, const JointCommand& joint, JointCommand& motor) const {
    for (int j = 0; j < n; ++j) {
      const double ratio = joints_[j].direction * joints_[j].gear;
      const double gear_sq = joints_[j].gear * joints_[j].gear;
      motor.tau[j] = joint.tau[j] / ratio;
      motor.q[j] = joint.q[j] * ratio + joints_[j].offset;
      motor.dq[j] = joint.dq[j] * ratio;
      motor.kp[j] = joint.kp[j] / gear_sq;
      motor.kd[j] = joint.kd[j] / gear_sq;
      motor.torque_enabled[j] = joint.torque_enabled[j];
      motor.mode[j] = joint.mode[j];
    }
  }

  void command_to_joint(int n, const JointCommand& motor, JointCommand& joint) const {
    for (int j = 0; j < n; ++j) {
      const double ratio = joints_[j].direction * joints_[j].gear;
      const double gear_sq = joints_[j].gear * joints_[j].gear;
      joint.tau[j] = motor.tau[j] * ratio;
      joint.q[j] = (motor.q[j] - joints_[j].offset) / ratio;
      joint.dq[j] = motor.dq[j] / ratio;
      joint.kp[j] = motor.kp[j] * gear_sq;
      joint.kd[j] = motor.kd[j] * gear_sq;
      joint.torque_enabled[j] = motor.torque_enabled[j];
      joint.mode[j] = motor.mode[j];
    }
  }

 private:
  std::array<JointTransmission, kMaxJoints> joints_{};
};

}  // namespace humanoid_rt
