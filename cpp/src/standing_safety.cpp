// Crouch stop, protective fall behaviour and fall detection in the cycle (standing_safety.hpp).
#include "humanoid_rt/standing_safety.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace humanoid_rt {

StandingSafety::StandingSafety(int n_joints, const StandingStopOptions& stops, std::shared_ptr<FallDetector> detector)
    : n_(n_joints), options_(stops), detector_(std::move(detector)) {
  if (n_ < 1 || n_ > kMaxJoints) throw std::invalid_argument("joint count must be in 1..64");
  if (!(stops.crouch_velocity_fraction > 0.0 && stops.crouch_velocity_fraction <= 1.0))
    throw std::invalid_argument("floating_base.stops.crouch_velocity_fraction: allowed: a number in (0, 1]");
  if (!(stops.min_duration_s >= 0.0 && stops.min_duration_s <= 60.0))
    throw std::invalid_argument("floating_base.stops.min_duration_s: allowed: a number in 0..60 [s]");
  if (!(stops.settle_s >= 0.0 && stops.settle_s <= 60.0))
    throw std::invalid_argument("floating_base.stops.settle_s: allowed: a number in 0..60 [s]");
  if (!(stops.support_height_m >= 0.0 && stops.support_height_m <= 10.0))
    throw std::invalid_argument("floating_base.stops.support_height_m: allowed: a number in 0..10 [m]");
  if (!(stops.tuck_stiffness_fraction >= 0.0 && stops.tuck_stiffness_fraction <= 1.0))
    throw std::invalid_argument("floating_base.fall.tuck_stiffness_fraction: allowed: a number in 0..1");
  if (!(stops.fall_protect_time_s > 0.0 && stops.fall_protect_time_s <= 60.0))
    throw std::invalid_argument("floating_base.fall.protect_time_s: allowed: a number in (0, 60] [s]");
  for (int j = 0; j < n_; ++j)
    if ((stops.crouch_mask[j] && !std::isfinite(stops.crouch[j])) || (stops.tuck_mask[j] && !std::isfinite(stops.tuck[j])))
      throw std::invalid_argument("floating_base: crouch and tuck postures: allowed: finite angles [rad]");
}

void StandingSafety::check_fall(SafetySupervisor& supervisor, const BaseState& base, const BaseSensors& sensors,
                                const JointVector& q, bool contact_expected) {
  fall_checked_ = false;
  if (!detector_) return;
  // Armed while torque is on (there is something to protect) and not already protecting.
  if (!base.valid || !supervisor.torque_on() || supervisor.fall_protecting()) {
    detector_->reset();
    return;
  }
  fall_checked_ = true;
  if (Cause cause = detector_->update(base, sensors, q, contact_expected)) {
    supervisor.fall(cause);
    detector_->reset();
  }
}

void StandingSafety::update_crouch(SafetySupervisor& supervisor, double t, double period_s, const JointLimits* limits,
                                   const JointState& state, const BaseState& base, SetpointInterpolator& interpolator,
                                   JointVector& q_ref, JointVector& dq_ref, JointVector& ref_step_velocity) {
  if (supervisor.crouch_started_this_cycle()) {
    supported_.store(false, std::memory_order_relaxed);  // a confirmation is for the hold it answers
    double duration = options_.min_duration_s;
    for (int j = 0; j < n_; ++j) {
      const JointLimits& l = limits[j];
      // Start where the body is (with Cartesian tasks acting, the reference is not): nothing jumps.
      if (std::isfinite(state.q[j]) && std::isfinite(state.dq[j])) {
        q_ref[j] = std::clamp(state.q[j], l.q_soft_min, l.q_soft_max);
        dq_ref[j] = std::clamp(state.dq[j], -l.velocity, l.velocity);
        ref_step_velocity[j] = dq_ref[j];
      }
      const double goal = options_.crouch_mask[j] ? std::clamp(options_.crouch[j], l.q_soft_min, l.q_soft_max) : q_ref[j];
      crouch_target_.q[j] = goal;
      crouch_target_.dq[j] = 0.0;
      const double distance = std::abs(goal - q_ref[j]);
      const double f = options_.crouch_velocity_fraction;
      duration = std::max({duration, 1.5 * distance / (f * l.velocity), std::sqrt(6.0 * distance / (f * l.acceleration))});
    }
    crouch_target_.has_velocity = true;
    crouch_target_.t_target = t + duration;
    interpolator.set_target(t - period_s, q_ref, dq_ref, crouch_target_);
    crouch_end_t_ = t + duration;
    return;
  }
  if (!supervisor.crouching()) return;
  if (!supervisor.crouch_holding()) {
    if (t >= crouch_end_t_ + options_.settle_s - 1e-9) supervisor.crouch_reached();
    return;
  }
  const double height = base.position[2];
  if (supported_.exchange(false, std::memory_order_acq_rel)) {
    supervisor.crouch_supported({Reason::kSupportReached, -1, base.valid ? height : 0.0, options_.support_height_m});
  } else if (base.valid && options_.support_height_m > 0.0 && height <= options_.support_height_m) {
    supervisor.crouch_supported({Reason::kSupportReached, -1, height, options_.support_height_m});
  }
}

void StandingSafety::tuck_torque(const JointLimits* limits, const JointVector& kp, const JointState& state,
                                 JointVector& tau) const {
  for (int j = 0; j < n_; ++j) {
    if (!options_.tuck_mask[j]) continue;
    tau[j] = options_.tuck_stiffness_fraction * kp[j] * (options_.tuck[j] - state.q[j]) - limits[j].damping_kd * state.dq[j];
  }
}

}  // namespace humanoid_rt
