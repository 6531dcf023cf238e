// Joint impedance: the control law of every joint in torque mode.
//
//   tau = kp (q_d - q) + kd (dq_d - dq) + tau_ff
//
// For drives that close the loop themselves (MIT-style CAN motors, CiA 402
// drives in cyclic torque with an onboard PD) the same law is handed to the
// drive as the tuple (q_d, dq_d, kp, kd, tau_ff'). The loop still evaluates
// the law with the measured state to predict the drive's torque, lets the
// safety layer shape that prediction, and folds the correction into the
// feed-forward, tau_ff' = tau_ff + (tau_safe - tau_predicted), so that at the
// sampled state the drive produces exactly the torque the safety layer allowed.
#pragma once

#include "humanoid_rt/types.hpp"

namespace humanoid_rt {

inline double joint_impedance_torque(double kp, double kd, double q_d, double dq_d, double tau_ff, double q,
                                     double dq) {
  return kp * (q_d - q) + kd * (dq_d - dq) + tau_ff;
}

// Fills the drive-side tuple of joint j so that the drive, evaluating its law
// at (q, dq), yields tau_safe.
inline void pack_drive_impedance(int j, double kp, double kd, double q_d, double dq_d, double tau_ff, double q,
                                 double dq, double tau_safe, JointCommand& command) {
  const double tau_predicted = joint_impedance_torque(kp, kd, q_d, dq_d, tau_ff, q, dq);
  command.mode[j] = CommandMode::kDriveImpedance;
  command.q[j] = q_d;
  command.dq[j] = dq_d;
  command.kp[j] = kp;
  command.kd[j] = kd;
  command.tau[j] = tau_ff + (tau_safe - tau_predicted);
}

inline void pack_torque(int j, double tau_safe, JointCommand& command) {
  command.mode[j] = CommandMode::kTorque;
  command.q[j] = 0.0;
  command.dq[j] = 0.0;
  command.kp[j] = 0.0;
  command.kd[j] = 0.0;
  command.tau[j] = tau_safe;
}

}  // namespace humanoid_rt
