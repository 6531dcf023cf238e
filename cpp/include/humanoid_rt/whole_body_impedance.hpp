// Whole-body impedance on a rigid-body model of the robot (Pinocchio).
//
// For the enabled Cartesian tasks i on frames f_i, with J_i the frame Jacobian
// (LOCAL_WORLD_ALIGNED: linear velocity of the frame origin and angular velocity,
// both in world axes) and J the stack of the enabled J_i:
//
//   e_i      = [ p*_i - p_i ;  log3(R*_i R_i^T) ]          pose error, world axes
//              (p*, R* the task reference, interpolated toward the target in time)
//   w_i      = K_i e_i + D_i (v*_i - J_i dq)               task wrench (K, D diagonal;
//                                                           v*_i the reference's twist)
//   tau      = g(q) + sum_i J_i^T w_i + N^T (tau_posture + kd dq) - kd (dq - J^+ v*)
//   N^T      = I - J^T (J J^T + lambda^2 I)^-1 J           (damped, identity metric)
//
// tau_posture is the joint impedance kp (q_d - q) + kd (dq_d - dq) + tau_ff the
// loop already computes; N^T removes what it would do along the tasks, so the
// posture only acts in the tasks' null space. Its damping is kept whole, outside
// the projection, relative to J^+ v* (J^+ = J^T (J J^T + lambda^2 I)^-1, the
// min-norm joint velocity of the tasks' reference motion): it is dissipation
// that vanishes at rest (so it cannot shift a task's equilibrium) and does not
// drag a task along its own path, and it damps the task directions too, where the
// effective mass (an arm plus the torso on the waist) is far larger than any
// fixed task damping assumes. g(q) is the gravity torque of the
// fixed-base model: the base (pelvis) is held, as on a gantry or with the robot
// hanging from a crane; floating-base support with contacts is not modelled here.
//
// Threading: construction and the analysis methods (gravity, frame_pose,
// frame_jacobian) run on non-RT threads and use their own model data under a
// mutex; compute() runs on the loop thread only, allocation-free (buffers are
// sized at construction).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "humanoid_rt/types.hpp"

namespace humanoid_rt {

inline constexpr int kMaxTasks = 8;

// One Cartesian impedance task, as written from Python. The target is reached at
// loop time t_target: from the previous target (or, when the task is switched on,
// from the frame's measured pose) the reference moves along a straight line and a
// slerp, with a smooth (cubic) time law when it starts from rest and a linear one
// when a new target continues a stream, so a new target never steps the wrench
// and a streamed path never stops at each sample.
struct CartesianTask {
  bool enabled = false;
  double t_target = 0.0;                        // loop time [s] the target is due (past: at once)
  std::array<double, 3> position{};             // target position in world [m]
  std::array<double, 4> quaternion{1, 0, 0, 0};  // target orientation (w, x, y, z)
  std::array<double, 6> stiffness{};            // K: translational [N/m] x3, rotational [Nm/rad] x3
  std::array<double, 6> damping{};              // D: [N s/m] x3, [Nm s/rad] x3
  // A streamed target (teleop) has ttl > 0 and the loop time it was written: the loop
  // ignores it once the supervisor has been re-enabled after it was written, so a stale
  // stream never pulls the robot after a re-enable. ttl 0: kept until overwritten (Python).
  double t_written = 0.0;
  double ttl = 0.0;
};

// Every task slot plus the model terms; slot i drives the i-th configured task frame.
struct TaskSet {
  std::uint64_t sequence = 0;
  bool gravity_compensation = true;
  std::array<CartesianTask, kMaxTasks> tasks{};
};

// What a task achieved in the last cycle (for telemetry and tests).
struct TaskStatus {
  bool enabled = false;                       // the task acted in the last cycle
  std::array<double, 3> position_error{};     // p_ref - p [m], p_ref the interpolated target
  std::array<double, 3> orientation_error{};  // log3(R_ref R^T) [rad]
  std::array<double, 3> reference_position{};  // p_ref now [m]
};

class WholeBodyImpedance {
 public:
  // Loads the URDF as a fixed-base model. `joint_names` are the robot's joints in
  // config order (all must be 1-DoF joints of the URDF, and every moving joint of the
  // URDF must be listed); `task_frames` names the frames tasks can act on.
  WholeBodyImpedance(const std::string& urdf_path, const std::vector<std::string>& joint_names,
                     const std::vector<std::string>& task_frames);
  ~WholeBodyImpedance();
  WholeBodyImpedance(const WholeBodyImpedance&) = delete;
  WholeBodyImpedance& operator=(const WholeBodyImpedance&) = delete;

  int n_joints() const;
  const std::vector<std::string>& task_frames() const;
  double total_mass() const;

  // Loop thread only: tau_out = scale (g + sum J^T w) + N^T tau_posture, config joint order.
  // `scale` ramps the model terms in with the enable ramp (the posture gains ramp already).
  void compute(double t, const JointVector& q, const JointVector& dq, const JointVector& tau_posture,
               const JointVector& kd_posture, const TaskSet& tasks, double scale, JointVector& tau_out,
               std::array<TaskStatus, kMaxTasks>& status);

  // Non-RT analysis (config joint order): gravity torque, a frame's 4x4 pose and 6xn Jacobian.
  std::vector<double> gravity(const std::vector<double>& q) const;
  std::array<double, 16> frame_pose(const std::vector<double>& q, const std::string& frame) const;
  // Pose of task frame `slot` at q (config joint order): position [m] and unit quaternion (w, x, y, z).
  // Any non-RT thread (the teleop receiver's start gate); allocation-free, serialised by its own mutex.
  // Returns false when slot is not a task slot.
  bool task_frame_pose(const JointVector& q, int slot, std::array<double, 3>& position,
                       std::array<double, 4>& quaternion) const;
  std::vector<double> frame_jacobian(const std::vector<double>& q, const std::string& frame) const;  // row-major 6 x n

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace humanoid_rt
