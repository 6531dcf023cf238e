// Fall detection for a floating-base robot (issue 13): from the base state estimator's output,
// every cycle, three named reasons (Reason::kFall*), each a latched FAULT whose stop is the
// protective fall behaviour (safety_supervisor.hpp, standing_safety.hpp).
//
// With world_R_base = R (the estimator's orientation, w x y z) and q the joints:
//
//   tilt      angle between the base's z axis and world z:  tilt = acos(R_zz) = acos(1 - 2 (x^2 + y^2))
//             fall_tilt when tilt > tilt_rad (one cycle: a tilt this large is never a measurement glitch
//             of an IMU's attitude filter)
//   CoM       c_b = centre of mass in base axes at q (Pinocchio, fixed-base model of the same URDF:
//             the CoM relative to the root link does not depend on the base pose). Sole corners
//             s_ik = p_i + R_i (offset_i + (+-L_i/2, +-W_i/2, 0)) in base axes, p_i, R_i the contact
//             frame's placement at q. Both are turned into world axes relative to the base origin
//             (R c_b, R s_ik) and projected on the ground (x, y). The support polygon is the convex
//             hull of the corners of the supporting feet: in contact (BaseState::contact), or with the
//             sole centre less than foot_clearance_m above the ground (BaseState::foot_position z): a
//             foot lifted a few millimetres while the body rocks sideways catches it, so it still counts
//             (without this, the CoM of a robot rocking onto one foot is "outside" that foot alone while
//             gravity is already bringing it back). d is the signed distance of the CoM's projection from
//             the hull's border (> 0 outside). fall_com_outside_support when d > com_margin_m for
//             com_cycles consecutive cycles (no foot in contact: not checked).
//   contact   fall_contact_lost when the sensors measure foot force (BaseSensors::n_feet > 0), contact
//             is expected (the estimator's contact schedule is not 0: a commanded lift sets it to 0)
//             and no contact point is in contact for contact_loss_cycles consecutive cycles.
//
// The detector runs only while it is armed (the loop arms it while torque is on and the estimator
// is valid); disarming clears the counters, so a fault needs k consecutive armed cycles.
//
// Sizes are fixed (kMaxContacts feet, 4 corners each): update() allocates nothing.
//
// Threading: construction on a non-RT thread; update(), reset() and the last_* accessors on the loop
// thread only; options() is immutable after construction (any thread).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "humanoid_rt/base_estimator.hpp"
#include "humanoid_rt/base_sensors.hpp"
#include "humanoid_rt/safety_supervisor.hpp"
#include "humanoid_rt/types.hpp"

namespace humanoid_rt {

struct FallDetectorOptions {
  double tilt_rad = 0.6;            // base tilt beyond which the robot is falling [rad]
  double com_margin_m = 0.03;       // CoM projection this far outside the support polygon [m]
  int com_cycles = 50;              // ... for this many consecutive cycles
  int contact_loss_cycles = 30;     // every contact lost for this many consecutive cycles
  double foot_clearance_m = 0.05;   // a foot lower than this above the ground still supports [m]
};

struct SoleSpec {
  std::string frame;                  // the contact frame (model.contacts[i].frame)
  std::array<double, 3> offset{};     // sole centre in that frame [m]
  std::array<double, 2> size{};       // sole length (x) and width (y) [m]
};

class FallDetector {
 public:
  // joint_names: the robot's joints in config order; soles: model.contacts (1..kMaxContacts).
  // Errors name the config field (floating_base.fall.*, model.contacts[i]).
  FallDetector(const std::string& urdf_path, const std::vector<std::string>& joint_names,
               const std::vector<SoleSpec>& soles, const FallDetectorOptions& options);
  ~FallDetector();
  FallDetector(const FallDetector&) = delete;
  FallDetector& operator=(const FallDetector&) = delete;

  const FallDetectorOptions& options() const { return options_; }
  int n_contacts() const { return n_contacts_; }

  // Loop thread. A Cause (reason kFall*, value, limit) when a fall is detected this cycle.
  // contact_expected: the estimator's contact schedule is not 0.
  Cause update(const BaseState& base, const BaseSensors& sensors, const JointVector& q, bool contact_expected);
  void reset();  // disarmed: counters cleared

  // Loop thread (and Python between stepped cycles): the last update's figures.
  double last_tilt() const { return last_tilt_; }
  double last_com_distance() const { return last_com_distance_; }  // signed, > 0 outside [m]; NaN: not checked

  // Non-RT analysis at q (config order) and a base orientation (w x y z): the CoM's ground projection
  // and the support polygon's vertices (x, y pairs, counter-clockwise) of the contacts in `contact`.
  std::vector<double> support_polygon(const std::vector<double>& q, const std::array<double, 4>& orientation,
                                      const std::vector<int>& contact, std::array<double, 2>& com_xy) const;

 private:
  struct Impl;
  // Computes the CoM projection and the hull (into the Impl's buffers); returns the hull size.
  int project(const JointVector& q, const std::array<double, 4>& orientation, const std::uint8_t* contact,
              double com_xy[2]) const;

  const FallDetectorOptions options_;  // immutable after construction
  int n_contacts_ = 0;                 // immutable after construction
  std::unique_ptr<Impl> impl_;         // model: immutable; data and buffers: loop thread

  // Loop thread only.
  int com_outside_cycles_ = 0;
  int contact_lost_cycles_ = 0;
  double last_tilt_ = 0.0;
  double last_com_distance_ = 0.0;
};

}  // namespace humanoid_rt
