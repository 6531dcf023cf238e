// Turns sparse, timestamped joint targets (30-100 Hz teleop, 10-50 Hz policy
// chunks, Python) into a C1-continuous reference at the loop rate.
//
// Every new target starts a cubic Hermite segment from the reference's
// current position and velocity (p0, v0) at time t0 to the target (p1, v1)
// at its time t1:
//
//   s = (t - t0) / T,  T = t1 - t0
//   p(s) = h00 p0 + h10 T v0 + h01 p1 + h11 T v1
//   h00 = 2s^3 - 3s^2 + 1, h10 = s^3 - 2s^2 + s, h01 = -2s^3 + 3s^2, h11 = s^3 - s^2
//
// Position and velocity are therefore continuous across updates: a target
// arriving mid-motion bends the path but never stops it. The end velocity v1
// is the target's own velocity when given, else the stream's finite
// difference (q1 - q_prev) / (t1 - t_prev) when the previous target is part of
// the same stream (target times advancing with arrival times), else zero.
// Streams should stamp each target at least 1.5 intervals ahead (interval plus
// jitter): a target arriving after the previous one's time finds the reference
// already settling, and the path dips.
// If no new target arrives by t1 and v1 != 0, a settling segment of the same
// duration brings the reference from (p1, v1) to rest at p1: it passes p1 by at
// most 4/27 |v1| T and comes back (a reversal, by design: the last target is
// held exactly); then the reference holds p1.
//
// Overflow is impossible by construction: positions and velocities enter clamped to
// +-kMaxMagnitude and segment durations to [kMinSegmentS, kMaxSegmentS], so every product in
// the Hermite sum stays below 1e18 (the API refuses such targets long before; this is the floor).
#pragma once

#include <algorithm>
#include <cmath>

#include "humanoid_rt/types.hpp"

namespace humanoid_rt {

class SetpointInterpolator {
 public:
  // Shortest segment: a target stamped in the past or now is reached this late.
  static constexpr double kMinSegmentS = 0.002;
  // A previous target older than this is not used to estimate the stream velocity.
  static constexpr double kMaxStreamGapS = 0.25;
  // Bounds on what enters the cubic [rad, rad/s, s].
  static constexpr double kMaxMagnitude = 1e6;
  static constexpr double kMaxSegmentS = 1e6;
  static double bounded(double x) { return std::isfinite(x) ? std::clamp(x, -kMaxMagnitude, kMaxMagnitude) : 0.0; }

  // Loop thread only (all methods).

  // Rest at q from time t (enable, hold, re-enable).
  void reset(int n, double t, const JointVector& q) {
    n_ = n;
    t0_ = t;
    duration_ = kMinSegmentS;
    for (int j = 0; j < n; ++j) p0_[j] = bounded(q[j]);
    p1_ = p0_;
    v0_.fill(0.0);
    v1_.fill(0.0);
    has_previous_target_ = false;
    settling_ = false;
  }

  // Start a segment from (q_now, v_now) at t_now toward the target.
  void set_target(double t_now, const JointVector& q_now, const JointVector& v_now, const JointSetpoint& target) {
    const double t1 = std::clamp(target.t_target, t_now + kMinSegmentS, t_now + kMaxSegmentS);
    // The previous target belongs to the same stream when target times advance about as fast as
    // the targets arrive (within half an interval); an isolated target says nothing about velocity.
    const double gap = target.t_target - previous_target_t_;
    const double arrival_gap = t_now - previous_arrival_t_;
    const bool estimate_velocity = !target.has_velocity && has_previous_target_ && gap > 1e-6 &&
                                   gap <= kMaxStreamGapS && std::abs(gap - arrival_gap) <= 0.5 * gap;
    for (int j = 0; j < n_; ++j) {
      if (target.has_velocity)
        v1_[j] = bounded(target.dq[j]);
      else if (estimate_velocity)
        v1_[j] = bounded((bounded(target.q[j]) - previous_target_q_[j]) / gap);
      else
        v1_[j] = 0.0;
      p0_[j] = bounded(q_now[j]);
      v0_[j] = bounded(v_now[j]);
      p1_[j] = bounded(target.q[j]);
    }
    t0_ = t_now;
    duration_ = t1 - t_now;
    settling_ = false;
    previous_target_q_ = p1_;
    previous_target_t_ = target.t_target;
    previous_arrival_t_ = t_now;
    has_previous_target_ = true;
  }

  // Stop the reference with constant deceleration over `duration` (HOLD): ending at
  // q + v T / 2 with zero velocity makes the Hermite cubic exactly q + v T s - v T s^2 / 2.
  void settle_from(double t_now, const JointVector& q_now, const JointVector& v_now, double duration) {
    duration = std::clamp(duration, kMinSegmentS, kMaxSegmentS);
    for (int j = 0; j < n_; ++j) {
      p0_[j] = bounded(q_now[j]);
      v0_[j] = bounded(v_now[j]);
      p1_[j] = p0_[j] + 0.5 * v0_[j] * duration;
    }
    v1_.fill(0.0);
    t0_ = t_now;
    duration_ = duration;
    settling_ = true;
    has_previous_target_ = false;
  }

  void sample(double t, JointVector& q, JointVector& dq) {
    if (t >= t0_ + duration_ && !settling_) {
      bool moving = false;
      for (int j = 0; j < n_; ++j) moving = moving || v1_[j] != 0.0;
      if (moving) {
        // No newer target by t1: come to rest at p1 over one more segment length.
        const double t1 = t0_ + duration_;
        p0_ = p1_;
        v0_ = v1_;
        v1_.fill(0.0);
        t0_ = t1;
        settling_ = true;
      }
    }
    const double s = std::clamp((t - t0_) / duration_, 0.0, 1.0);
    const double s2 = s * s, s3 = s2 * s;
    const double h00 = 2 * s3 - 3 * s2 + 1, h10 = s3 - 2 * s2 + s, h01 = -2 * s3 + 3 * s2, h11 = s3 - s2;
    const double d00 = 6 * s2 - 6 * s, d10 = 3 * s2 - 4 * s + 1, d01 = -6 * s2 + 6 * s, d11 = 3 * s2 - 2 * s;
    const bool finished = s >= 1.0;
    for (int j = 0; j < n_; ++j) {
      q[j] = h00 * p0_[j] + h10 * duration_ * v0_[j] + h01 * p1_[j] + h11 * duration_ * v1_[j];
      dq[j] = finished ? v1_[j] : (d00 * p0_[j] + d01 * p1_[j]) / duration_ + d10 * v0_[j] + d11 * v1_[j];
    }
  }

  const JointVector& target() const { return p1_; }

 private:
  int n_ = 0;
  double t0_ = 0.0;
  double duration_ = kMinSegmentS;
  JointVector p0_{}, v0_{}, p1_{}, v1_{};
  JointVector previous_target_q_{};
  double previous_target_t_ = 0.0;
  double previous_arrival_t_ = 0.0;
  bool has_previous_target_ = false;
  bool settling_ = false;
};

}  // namespace humanoid_rt
