// One cycle of a joint's reference toward the interpolated sample, within the reference's limits:
//
//   SLP  the target is taken inside the soft range [q_soft_min, q_soft_max] (beyond it: the wall,
//        at rest), and the reference brakes so it stops at a wall instead of hitting it
//   SLA  the reference's velocity changes by at most acceleration * dt per cycle
//   SLI  the reference's velocity is at most the velocity limit (its step at most velocity * dt)
//
// Braking uses the acceleration limit as the available deceleration: from distance d to a stop
// point (the target, moving or not, or a wall), the reference may move at most the speed from which
// decelerating at `acceleration` from the next cycle on stops within d. A reference that starts
// outside the soft range (enable between the soft and hard limits, RECOVERY) walks back in under
// the same limits and never moves further out. When no limit acts, the reference is the sample
// itself (its analytic velocity included), so a path within the limits passes unchanged.
#pragma once

#include <algorithm>
#include <cmath>

namespace humanoid_rt {

struct ReferenceLimits {
  double q_min = -1.0, q_max = 1.0;  // the soft range [rad]
  double velocity = 1.0;             // [rad/s]
  double acceleration = 1.0;         // [rad/s^2]
};

// The largest speed at which distance d (>= 0) still suffices to stop, decelerating at a from the
// next cycle: v dt / 2 + v^2 / (2 a) <= d.
inline double braking_speed(double distance, double acceleration, double dt) {
  if (!(distance > 0.0)) return 0.0;
  const double a_dt = acceleration * dt;
  return 0.5 * (-a_dt + std::sqrt(a_dt * a_dt + 8.0 * acceleration * distance));
}

struct ReferenceSample {
  double q = 0.0;       // the new reference [rad]
  double dq = 0.0;      // its velocity for the control law [rad/s]
  double v_step = 0.0;  // (q - q_previous) / dt: the velocity the next cycle's SLA compares with
};

// q_previous, v_previous: last cycle's reference and step velocity; q_sample, dq_sample: the interpolator now.
inline ReferenceSample shape_reference(double q_previous, double v_previous, double q_sample, double dq_sample,
                                       const ReferenceLimits& l, double dt) {
  double target = q_sample, target_velocity = dq_sample;
  bool limited = false;
  if (target > l.q_max || target < l.q_min) {
    target = std::clamp(target, l.q_min, l.q_max);
    target_velocity = 0.0;
    limited = true;
  }
  const double wanted = (target - q_previous) / dt;
  double v = wanted;
  // Approach the target so as to arrive with its velocity (no overshoot of a stop point).
  const double gap = target - q_previous;
  if (gap >= 0.0)
    v = std::min(v, target_velocity + braking_speed(gap, l.acceleration, dt));
  else
    v = std::max(v, target_velocity - braking_speed(-gap, l.acceleration, dt));
  v = std::clamp(v, v_previous - l.acceleration * dt, v_previous + l.acceleration * dt);  // SLA
  v = std::clamp(v, -l.velocity, l.velocity);                                              // SLI
  // The walls: brake to stop at the one ahead; from outside the range, never further out.
  v = std::min(v, braking_speed(l.q_max - q_previous, l.acceleration, dt));
  v = std::max(v, -braking_speed(q_previous - l.q_min, l.acceleration, dt));
  limited = limited || v != wanted;
  ReferenceSample out;
  if (!limited) {
    out.q = target;
    out.dq = std::clamp(target_velocity, -l.velocity, l.velocity);
  } else {
    out.q = std::clamp(q_previous + v * dt, std::min(l.q_min, q_previous), std::max(l.q_max, q_previous));
    out.dq = (out.q - q_previous) / dt;
  }
  out.v_step = (out.q - q_previous) / dt;
  return out;
}

}  // namespace humanoid_rt
