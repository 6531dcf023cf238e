// Contact whole-body controller for a standing floating-base robot: inverse
// dynamics with contacts, solved as one QP every loop cycle (issue 13).
//
// Model: Pinocchio's free-flyer model of the robot's URDF, nv = 6 + n, configured
// from the loop's base state estimator (base pose, its orientation low-passed with
// orientation_filter_s against IMU noise; its twist only when no foot is in contact)
// and the joint measurements. With feet in contact the base twist is
// the one that keeps them still, v_b = -(sum J_b,i^T J_b,i)^-1 sum J_b,i^T J_j,i dq
// (encoders only): the Kalman velocity carries the IMU's biases (a gyro bias reads
// as bias x leg length of base velocity) which the damping terms would act on. Each foot i in contact has a sole frame s_i at the sole centre
// (model.contacts: frame + offset) and a contact wrench f_i = [force; torque] at
// that point, world axes (6 values). J_i is the sole frame's Jacobian
// (LOCAL_WORLD_ALIGNED), d_i = Jdot_i v its classical drift acceleration.
//
// Variables   x = [ qdd (nv) ; f_1 .. f_c (6 each) ]
//
// Equalities
//   M_u qdd + h_u - J_u^T f = 0                 floating-base rows of M qdd + h = S^T tau + J^T f
//                                                (tau is eliminated; u = the 6 base rows)
//   J_i qdd + d_i = -k_c J_i v                   foot i in contact: no contact acceleration
//                                                (k_c = contact_damping damps residual slip)
//   f_i = 0                                      foot i not in contact (keeps the sizes fixed)
//
// Inequalities, per foot (sole axes R_i = world_R_sole, f~ = R_i^T force, t~ = R_i^T torque)
//   f~_z >= f_min                                unilateral normal force (min_normal_force_n)
//   |force_x|, |force_y| <= mu force_z           linearised friction pyramid (world axes, flat ground)
//   |t~_y| <= (L/2 - m) f~_z,  |t~_x| <= (W/2 - m) f~_z
//                                                centre of pressure inside the L x W sole rectangle
//                                                shrunk by the margin m (sole_margin_m)
//   |t~_z| <= mu min(L, W)/2 f~_z                yaw torque the friction can carry
// and the torque limits, with tau = M_a qdd + h_a - J_a^T f (a = the n joint rows):
//   -tau_max <= tau <= tau_max
//
// Cost  sum_k w_k |A_k x - b_k|^2 + eps_q |qdd|^2 + eps_f |f|^2 with the tasks
//   centre of mass      A = J_com             b = c_ref'' + Kp_c (c_ref - c) + Kd_c (c_ref' - c') - Jdot_com v
//   base orientation    A = rows x, y of [0 R 0] (the base's angular acceleration in world axes)
//                                              b = (Kp_o log3(R_ref R^T) - Kd_o R omega)_{x,y}
//                       (level only: yaw is left to the legs' posture; an IMU's yaw drifts and
//                        cannot be observed from the legs, and a yaw task would twist the feet)
//   hand frames k       A = J_k               b = (K_k e_k + D_k (v*_k - J_k v)) / m_k - Jdot_k v
//                       (the fixed-base controller's task slots: targets, reference path and
//                        impedance gains as written; m_k = task_mass per axis turns the
//                        impedance into an acceleration with the same damping ratio)
//   posture             A = [0 I 0] (joints)  b_j = qdd_d + Kp_p (q_d - q) + Kd_p (dq_d - dq)  for a joint
//                                                    that carries a sole or an active hand task's frame (soft:
//                                                    led by those tasks)
//                                              b_j = qdd_d + tau_joint_j / M_jj        for the others
//                       (q_d, dq_d: the loop's joint reference, i.e. the joint setpoint; qdd_d the change
//                        of dq_d since the last cycle over the loop time between them. A leg motion's CoM
//                        height goes into c_ref with it (standing_motion.py), so the legs' feed-forward and
//                        the CoM task ask for the same body; without the feed-forward a knee lagged a
//                        skill's 0.7 rad bend by 0.15 rad. The free joints -
//                        arms, waist, head with no hand task on - get the loop's joint impedance
//                        kp (q_d - q) + kd (dq_d - dq) + tau_ff over
//                        their own inertia: as stiff as on the fixed base, so a joint-space skill tracks
//                        against what the model leaves out (drive friction, rotor inertia), where a soft
//                        acceleration gain on a light wrist is a fraction of a newton-metre per radian)
// Output: tau = M_a qdd + h_a - J_a^T f (config order), blended with the enable ramp
// r as r tau + (1 - r) tau_joint (tau_joint: the loop's joint impedance, ramped itself).
//
// References. c_ref is anchored at reset() on the measured CoM (a robot enabled where
// it stands does not move), plus the offset written with set_reference() (x, y move the
// CoM over the support polygon, z squats), reached in `duration` along a cubic from
// standstill, or at constant speed when it arrives mid-path (a stream of offsets, e.g. a
// skill's CoM heights, standing_motion.py); c_ref' and c_ref'' are that path's; R_ref is the base
// yaw at reset(), level. Hand targets are in the stance frame: the base pose at
// reset(), levelled (yaw kept) - for a robot standing upright this is the frame of
// the fixed-base model, so the same numbers work in both modes.
//
// Base target (set_base_target(); Robot.set_base_target, teleop kind 4). A pelvis height offset h [m]
// from the anchor and an orientation (roll, pitch, yaw) [rad] in the stance frame, URDF convention
// R_rpy = Rz(yaw) Ry(pitch) Rx(roll), reached along the same kind of path as the CoM offset in
// T = max(duration, 1.5 |dh| / base_height_speed_m_s, 1.5 max|d angle| / base_angular_speed_rad_s) (the
// cubic's peak speed is 1.5 x its mean; factor 1 at constant speed, mid-path), and a goal equal to the
// current one (a teleop stream) leaves the path alone. With the
// path's value now, D = (R_rpy, (0, 0, h)) is the base displacement it asks for, in the frame of the base
// at the reference posture (the loop's joint reference q_r, base level at the origin). Three cost terms
// follow it, consistently:
//   base orientation    R_ref = R_stance R_rpy                 (rows x, y as above: roll and pitch)
//   posture (legs)      q_d = q_D: the legs' joints that keep every sole where it is at q_r while the
//                       base moves by D:  oMs_i(q_D) = D^-1 oMs_i(q_r)  (fixed-base kinematics, base at
//                       the origin), one damped Newton step per cycle per leg from the last iterate,
//                       dq_i = J_l,i^T (J_l,i J_l,i^T + lambda I)^-1 log6(oMs_i(q_D)^-1 D^-1 oMs_i(q_r))
//                       (J_l,i: the sole's LOCAL Jacobian, leg-chain columns): the legs' posture agrees
//                       with the target instead of pulling the pelvis back; yaw is reached through it,
//                       from the encoders only (no IMU yaw, as above)
//   centre of mass      c_ref_z += (D c(q_D))_z - c(q_r)_z
//                       (the CoM height change of the displaced base carrying the upper body: the pelvis
//                        height goes through the CoM height; the CoM's x, y stay on their reference, so
//                        a pitched pelvis moves the hips back over the feet)
// Limits (options.base_*, model.standing.base_target): set_base_target() refuses values outside them
// (naming the field); clamp_base_target() (teleop) clips them. reset() drops the base target: a robot
// re-enabled after a stop anchors where it stands, level, and a target written before is stale (as a
// setpoint written before enable). A crouch or the fall behaviour never runs this controller, so
// neither ever tracks a base target.
//
// Solver: eiquadprog's EiquadprogFast (Goldfarb-Idnani dual active set; what TSID
// uses), sized with reset() at construction, or proxsuite's dense ProxQP (for
// comparison; options.solver). Every matrix is preallocated: compute() allocates nothing.
//
// Fallback: when the QP fails (infeasible, iteration limit, non-finite input or
// output) the loop gets the last good torque decaying exponentially (time constant
// fallback_time_constant_s) toward the joint impedance tau_joint (the posture's
// PD + damping), never a NaN; failures are counted (statistics(), also in the
// status) and the supervisor can read consecutive_failures.
//
// Threading: construction, set_reference(), set_options() and the accessors marked
// non-RT on any non-RT thread (set_reference()/read_status() serialise their own
// producers/readers with mutexes the loop never takes); reset() and compute() on the
// loop thread only.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "humanoid_rt/base_sensors.hpp"
#include "humanoid_rt/triple_buffer.hpp"
#include "humanoid_rt/types.hpp"
#include "humanoid_rt/whole_body_impedance.hpp"

namespace humanoid_rt {

enum class QpSolver : std::uint8_t { kEiquadprog = 0, kProxsuite = 1 };

struct ContactSole {
  std::string frame;                 // URDF link of the foot (model.contacts[i].frame)
  std::array<double, 3> offset{};    // sole centre (bottom surface) in that frame [m]
  std::array<double, 2> size{};      // sole length (x) and width (y) [m]
};

struct ContactWbcOptions {
  QpSolver solver = QpSolver::kEiquadprog;
  double friction = 0.7;                 // mu of the friction pyramid
  double min_normal_force_n = 10.0;      // f_min
  double sole_margin_m = 0.01;           // the CoP stays this far inside each sole edge
  double contact_damping = 0.0;          // k_c [1/s]: 0, since J_i v is the estimator's error (a gyro bias
                                         // reads as a turning foot), not a slip the feet could correct
  double com_kp = 100.0, com_kd = 20.0, com_weight = 30.0;                // [1/s^2], [1/s]
  double orientation_kp = 100.0, orientation_kd = 20.0, orientation_weight = 30.0;
  double task_weight = 10.0;
  std::array<double, 2> task_mass{2.0, 0.05};  // [kg], [kg m^2]: the Python API's nominal task load
  double posture_kp = 40.0, posture_kd = 12.0, posture_weight = 1.0;
  double qdd_regularisation = 1e-5, force_regularisation = 1e-6;
  double fallback_time_constant_s = 0.05;
  double reference_speed_limit = 0.5;    // fastest CoM reference motion [m/s] (set_reference durations)
  double orientation_filter_s = 0.01;    // time constant of the low-pass on the estimator's orientation [s]
  // Base target limits and speeds (model.standing.base_target): pelvis height offset down/up from the
  // anchor [m], |roll|, |pitch|, |yaw| in the stance frame [rad], and the path's top speeds.
  double base_height_down_m = 0.12, base_height_up_m = 0.02;
  double base_max_roll_rad = 0.15, base_max_pitch_rad = 0.25, base_max_yaw_rad = 0.2;
  double base_height_speed_m_s = 0.1, base_angular_speed_rad_s = 0.5;
};

// A pelvis target relative to the anchor (see the header comment) and when it is reached.
struct BaseTarget {
  std::uint64_t sequence = 0;
  double height_offset = 0.0;            // [m], < 0 lowers the pelvis
  std::array<double, 3> rpy{};           // roll, pitch, yaw [rad] in the stance frame, R = Rz Ry Rx
  double duration = 1.0;                 // [s] from the cycle that takes it
};

// The CoM offset from the anchor (support centre, standing height) and when it is reached.
struct StandingReference {
  std::uint64_t sequence = 0;
  std::array<double, 3> com_offset{};    // [m] world axes; z < 0 squats
  double duration = 1.0;                 // [s] from the cycle that takes it
};

// What the controller did in the last cycle (loop -> readers, triple buffer).
struct StandingStatus {
  std::uint64_t cycle = 0;
  bool active = false;                                  // compute() ran this cycle (torque from this controller)
  bool qp_ok = false;                                   // the QP solved (else: fallback)
  int iterations = 0;
  std::array<double, 3> com{}, com_reference{};         // [m] estimator's world frame
  double com_margin = 0.0;            // signed distance of the CoM (x, y) to the support polygon's edge [m] (> 0 inside;
                                      // NaN without a foot in contact)
  std::array<double, 2 * kMaxContacts> cop{};          // per foot: CoP in sole axes (x, y) [m] from the QP's wrench
  std::array<double, kMaxContacts> cop_margin{};       // per foot: distance of the CoP to the nearest sole edge [m]
  std::array<double, kMaxContacts> normal_force{};     // per foot [N]
  double friction_residual = 0.0;     // max violation of friction/unilateral/CoP rows by the solution (>= 0) [N, Nm]
  double torque_residual = 0.0;       // max |tau| - tau_max over joints, when > 0 [Nm]
  double equality_residual = 0.0;     // max |base dynamics / contact acceleration| row [N, m/s^2]
  std::array<double, 4> base_reference{};  // the base target's path now: height offset [m], roll, pitch, yaw [rad]
  std::array<double, 4> base_goal{};       // the base target it moves to (same units)
};

struct StandingStatistics {
  std::uint64_t solves = 0;           // QPs solved
  std::uint64_t failures = 0;         // QPs failed (fallback torque used)
  std::uint64_t consecutive_failures = 0;
  double max_friction_residual = 0.0, max_torque_residual = 0.0, max_equality_residual = 0.0;
  double min_cop_margin = 1e9;        // over every solved cycle and foot in contact [m]
  std::array<double, kMaxContacts> min_cop_margin_per_foot{1e9, 1e9, 1e9, 1e9};  // the same per foot [m]
  double min_com_margin = 1e9;        // [m]
};

class ContactWbc {
 public:
  // The URDF as a free-flyer; joint_names in config order; task_frames the fixed-base controller's
  // task frames (same slots); soles 1..kMaxContacts; torque_limits per joint [Nm]. Errors name the
  // config field (model.contacts[i].frame, model.tasks, joints).
  ContactWbc(const std::string& urdf_path, const std::vector<std::string>& joint_names,
             const std::vector<std::string>& task_frames, const std::vector<ContactSole>& soles,
             const std::vector<double>& torque_limits, double period_s, const ContactWbcOptions& options);
  ~ContactWbc();
  ContactWbc(const ContactWbc&) = delete;
  ContactWbc& operator=(const ContactWbc&) = delete;

  int n_joints() const;
  int n_contacts() const;
  int n_variables() const;
  int n_equalities() const;
  int n_inequalities() const;
  const ContactWbcOptions& options() const;

  // Any non-RT thread (producers serialised here): a new CoM reference offset.
  void set_reference(std::array<double, 3> com_offset, double duration);

  // Any non-RT thread: a new base target (height offset [m], roll/pitch/yaw [rad], duration [s]); throws
  // std::invalid_argument naming height_offset_m, rpy[i] or duration with the allowed range when a value is
  // outside the options' limits. clamp_base_target(): the same values clipped into the limits (non-finite
  // ones to 0); true when any was changed (the teleop receiver counts it).
  void set_base_target(double height_offset, std::array<double, 3> rpy, double duration);
  bool clamp_base_target(double& height_offset, std::array<double, 3>& rpy) const;

  // Loop thread only. reset(): the next compute() anchors the references where the robot stands.
  void reset();
  // Returns false when it could not run (base state invalid): tau_out is then left untouched.
  bool compute(double t, const JointVector& q, const JointVector& dq, const JointVector& q_ref,
               const JointVector& dq_ref, const BaseState& base, const TaskSet& tasks,
               const JointVector& tau_joint, double ramp, JointVector& tau_out,
               std::array<TaskStatus, kMaxTasks>& task_status);

  // Loop thread only: the status of the last compute() that ran (a default status before the first)
  // and how many did, so the loop's telemetry can tell a cycle with a solve from one without.
  const StandingStatus& last_status() const { return status_buffer_.last_published(); }
  std::uint64_t status_count() const { return status_buffer_.publish_count(); }

  // Any non-RT thread.
  StandingStatus read_status();
  StandingStatistics statistics() const;
  void reset_statistics();  // non-RT, loop not running
  // Non-RT, loop not running: the QP of the last compute() (row-major dense matrices), for benchmarks
  // and cross-checks: H (nx*nx), g, CE (neq*nx), ce0, CI (nin*nx), ci0, and the solution x.
  std::vector<std::vector<double>> last_qp() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;           // model: immutable after construction; workspaces: loop thread
  TripleBuffer<StandingReference> reference_buffer_;  // producers (under reference_mutex_) -> loop
  std::mutex reference_mutex_;
  std::uint64_t reference_sequence_ = 0;  // under reference_mutex_
  TripleBuffer<BaseTarget> base_target_buffer_;       // producers (under reference_mutex_) -> loop
  std::uint64_t base_target_sequence_ = 0;            // under reference_mutex_
  TripleBuffer<StandingStatus> status_buffer_;        // loop -> readers (under status_mutex_)
  std::mutex status_mutex_;
  // Written by the loop thread, read by any thread.
  std::atomic<std::uint64_t> solves_{0}, failures_{0}, consecutive_failures_{0};
  std::atomic<double> max_friction_residual_{0.0}, max_torque_residual_{0.0}, max_equality_residual_{0.0};
  std::atomic<double> min_cop_margin_{1e9}, min_com_margin_{1e9};
  std::array<std::atomic<double>, kMaxContacts> min_cop_margin_per_foot_{1e9, 1e9, 1e9, 1e9};
};

}  // namespace humanoid_rt
