// Base state estimation for a floating-base robot: where the pelvis is and how
// it moves, from the IMU and the legs (issue 13, first part).
//
// Orientation and angular rate come from the IMU (its own attitude filter, as
// real IMUs provide): with b_R_i the IMU frame's fixed placement on the root
// link (URDF),
//
//   world_R_base = world_R_imu * b_R_i^T        omega_base = b_R_i * gyro
//
// Position and velocity come from a linear Kalman filter over
//
//   x = [ p (3), v (3), f_1 .. f_n (3 each) ]    base origin, its velocity, contact points; world
//
// driven by the IMU's specific force rotated to world (a = world_R_imu accel + g,
// g = (0, 0, -9.81); the centripetal term of the IMU's offset from the base origin
// is removed, the angular-acceleration term is neglected):
//
//   p+ = p + dt v + dt^2/2 a      v+ = v + dt a      f_i+ = f_i
//   P+ = A P A^T + Q,  Q = dt diag(s_p^2 I, s_v^2 I, s_f,i^2 I)
//   s_f,i = foot_process_noise in contact; swing_process_noise otherwise (a lifted foot moves freely)
//
// and corrected, per contact point i with r_i(q) its position in base axes and
// J_i(q) dq its velocity relative to the base (leg kinematics, Pinocchio free-flyer
// model with the base at identity), by three measurements:
//
//   f_i - p = world_R_base r_i                                  leg kinematics (always)
//   v       = -world_R_base (omega_base x r_i + J_i dq)         the point does not slip (contact)
//   f_i,z   = ground_height                                     flat ground (contact)
//
// with measurement noise foot_position_noise, foot_velocity_noise, foot_height_noise;
// for a point not in contact the last two get swing_measurement_noise (they then
// carry no information), so every matrix keeps its size: H is constant and the
// update is the textbook one (S = H P H^T + R, K = P H^T S^-1 by LDLT, P = (I - K H) P,
// symmetrised). Contact: foot normal force >= contact_force_threshold when the sensors
// measure feet, otherwise the contact schedule (default: every point on the ground).
// The filter starts at its first update: p = (0, 0, height of the base above the
// lowest contact point), v = 0; so x, y are relative to where the robot stood then.
// Yaw is whatever the IMU reports (not observable from legs on flat ground).
//
// Sizes: at most kMaxContacts points, so the matrices are Eigen matrices with fixed
// maximum sizes (18 states, 28 measurements) living inside the object: update()
// allocates nothing.
//
// Threading: construction, set_contact_schedule() and the accessors marked non-RT on
// any non-RT thread; update() and reset() on the loop thread only.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "humanoid_rt/base_sensors.hpp"
#include "humanoid_rt/types.hpp"

namespace humanoid_rt {

struct ContactPointSpec {
  std::string frame;                 // URDF link or frame the point is fixed to (an ankle/foot link)
  std::array<double, 3> offset{};    // the point (sole centre) in that frame [m]
};

struct BaseEstimatorOptions {
  double gravity = 9.81;                    // [m/s^2]
  double ground_height = 0.0;               // world z of the flat ground [m]
  double contact_force_threshold_n = 20.0;  // normal force above which a measured foot is in contact
  // Process noise spectral densities (per sqrt(s)).
  double base_position_noise = 0.01;        // [m/sqrt(s)]
  double base_velocity_noise = 0.3;         // [m/s/sqrt(s)] (accelerometer noise and bias)
  double foot_process_noise = 0.002;        // [m/sqrt(s)] a standing foot creeps
  double swing_process_noise = 10.0;        // [m/sqrt(s)] a lifted foot moves freely
  // Measurement noise standard deviations.
  double foot_position_noise = 0.003;       // [m] leg kinematics
  double foot_velocity_noise = 0.05;        // [m/s] no-slip velocity
  double foot_height_noise = 0.01;          // [m] flat ground
  double swing_measurement_noise = 100.0;   // a measurement that does not hold without contact
};

class BaseStateEstimator {
 public:
  static constexpr int kMaxStates = 6 + 3 * kMaxContacts;
  static constexpr int kMaxMeasurements = 7 * kMaxContacts;

  // Loads the URDF with a free-flyer root. joint_names: the robot's joints in config order
  // (every moving joint of the URDF); imu_frame: a frame fixed to the root link; contacts:
  // 1..kMaxContacts points. Errors name the config field (model.imu.frame, model.contacts[i]).
  BaseStateEstimator(const std::string& urdf_path, const std::vector<std::string>& joint_names,
                     const std::string& imu_frame, const std::vector<ContactPointSpec>& contacts,
                     double period_s, const BaseEstimatorOptions& options);
  ~BaseStateEstimator();
  BaseStateEstimator(const BaseStateEstimator&) = delete;
  BaseStateEstimator& operator=(const BaseStateEstimator&) = delete;

  int n_joints() const;
  int n_contacts() const;
  const BaseEstimatorOptions& options() const;

  // Any non-RT thread: which contact points are on the ground when the sensors measure no foot
  // force (bit i = contact i). Taken by the next update().
  void set_contact_schedule(std::uint32_t mask) { contact_schedule_.store(mask, std::memory_order_relaxed); }
  std::uint32_t contact_schedule() const { return contact_schedule_.load(std::memory_order_relaxed); }

  // Loop thread only.
  void reset();  // the next update() starts the filter again
  void update(const JointVector& q, const JointVector& dq, const BaseSensors& sensors, BaseState& out);

  // Non-RT analysis: contact point positions in base axes at q (config order), 3 per contact.
  std::vector<double> contact_points_in_base(const std::vector<double>& q) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;                  // model: immutable after construction; filter: loop thread
  std::atomic<std::uint32_t> contact_schedule_{0xffffffffu};  // any thread writes, loop thread reads
};

}  // namespace humanoid_rt
