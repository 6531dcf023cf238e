// Stops and fall protection for a standing (floating-base) robot (issue 13): what the loop does
// when the supervisor's stop policy (safety_supervisor.hpp) chooses a crouch or the protective
// fall behaviour, and the fall detector it runs every cycle (fall_detector.hpp).
//
// Crouch (SS1 into a safe pose). On entry, from the measured joints q0 (clamped to the soft range)
// and their velocity, a cubic (Hermite) segment to the crouch posture q_c (joints without a
// crouch value: q0, i.e. held where they are) over
//
//   T = max_j max( 1.5 |q_c - q0| / (f v_j),  sqrt(6 |q_c - q0| / (f a_j)),  min_duration_s )
//
// (a rest-to-rest cubic peaks at 1.5 d / T in velocity and 6 d / T^2 in acceleration; f is
// crouch_velocity_fraction, v_j and a_j the joint's velocity and acceleration limits), every joint
// on the same clock so the body lowers as one. The reference then passes the usual SLP/SLA/SLI
// shaping and the active gains track it (tasks off). At T + settle_s: crouch_complete, the posture
// is held (SOS: the reference rests). While held, the base height from the estimator
// (BaseState::position z above the ground) at or below support_height_m, or confirm_supported()
// from any thread: support_reached -> damping for damping_time -> STO.
//
// Protective fall: every joint damped (tau = -damping_kd dq, gravity compensation kept), the tuck
// joints (arms) pulled toward the tuck posture with tau = tuck_stiffness_fraction kp_j (q_t - q)
// - damping_kd dq (kp_j: the active gains), torque on for fall.protect_time_s, then STO.
//
// Threading: construction and set_* on a non-RT thread before the loop is configured; the loop
// methods on the loop thread only; confirm_supported() from any thread.
#pragma once

#include <atomic>
#include <memory>

#include "humanoid_rt/fall_detector.hpp"
#include "humanoid_rt/safety_supervisor.hpp"
#include "humanoid_rt/setpoint_interpolator.hpp"
#include "humanoid_rt/types.hpp"

namespace humanoid_rt {

inline JointVector filled(double value) {
  JointVector v;
  v.fill(value);
  return v;
}

struct StandingStopOptions {
  JointVector crouch{};                  // crouch posture [rad], with crouch_mask
  JointFlags crouch_mask{};              // 1: the joint moves to crouch[j]; 0: it holds where it is
  double crouch_velocity_fraction = 0.2; // of each joint's velocity and acceleration limits
  double min_duration_s = 0.5;           // the crouch trajectory takes at least this long
  double settle_s = 0.3;                 // after the trajectory, before crouch_complete
  double support_height_m = 0.0;         // base height at/below which the robot is down (0: only confirmed)
  // While crouching, joint j's stiffness is kp[j] * crouch_stiffness_scale[j] and its damping
  // kd[j] * crouch_damping_scale[j] (= sqrt of the stiffness scale: the same damping ratio). A crouch
  // tracks its joint trajectory on the fixed-base controller, not on the contact QP (which is the
  // controller of ACTIVE), so a robot that stands on the QP with soft legs gets stiff legs for its
  // crouch (floating_base.STANDING_GAIN_SCALE on the support joints); 1 where the legs are stiff already.
  JointVector crouch_stiffness_scale = filled(1.0);
  JointVector crouch_damping_scale = filled(1.0);
  JointVector tuck{};                    // tuck posture [rad], with tuck_mask
  JointFlags tuck_mask{};
  double tuck_stiffness_fraction = 0.2;  // of each tuck joint's active kp
  double fall_protect_time_s = 3.0;
  StopPolicy policy{};                   // per reason; see safety_supervisor.hpp
};

class StandingSafety {
 public:
  StandingSafety(int n_joints, const StandingStopOptions& stops, std::shared_ptr<FallDetector> detector);

  const StandingStopOptions& options() const { return options_; }
  const std::shared_ptr<FallDetector>& detector() const { return detector_; }  // null: fall detection off

  // Any thread: the crouched robot is on a support (a crane, a stand, the floor): the hold ends.
  void confirm_supported() { supported_.store(true, std::memory_order_release); }

  // --- loop thread ---
  // After the supervisor's checks: detection while torque is on and the estimate is valid.
  void check_fall(SafetySupervisor& supervisor, const BaseState& base, const BaseSensors& sensors,
                  const JointVector& q, bool contact_expected);
  // After the time-driven transitions: a crouch that started this cycle plans its trajectory into
  // the interpolator (q_ref/dq_ref become the measured start); a crouch in progress completes or
  // finds its support.
  void update_crouch(SafetySupervisor& supervisor, double t, double period_s, const JointLimits* limits,
                     const JointState& state, const BaseState& base, SetpointInterpolator& interpolator,
                     JointVector& q_ref, JointVector& dq_ref, JointVector& ref_step_velocity);
  // During the protective fall behaviour: the tuck joints' torque (the others keep the damping law).
  void tuck_torque(const JointLimits* limits, const JointVector& kp, const JointState& state, JointVector& tau) const;
  // check_fall() ran the detector this cycle (its last_tilt()/last_com_distance() are this cycle's).
  bool fall_checked() const { return fall_checked_; }

 private:
  const int n_;
  const StandingStopOptions options_;            // immutable after construction
  const std::shared_ptr<FallDetector> detector_;  // immutable pointer; update() on the loop thread
  std::atomic<bool> supported_{false};           // any thread sets, loop thread clears
  bool fall_checked_ = false;                    // loop thread only: the detector ran in this cycle
  double crouch_end_t_ = 0.0;                    // loop thread only: when the trajectory ends
  JointSetpoint crouch_target_{};                // loop thread only (preallocated segment target)
};

}  // namespace humanoid_rt
