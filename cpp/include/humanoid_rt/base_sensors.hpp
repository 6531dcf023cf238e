// What a floating-base robot senses about its body as a whole: an IMU on the
// base and a force/contact reading per foot (issue 13).
//
// The loop reads one BaseSensors per cycle, either from a bus that carries the
// sensors (the MuJoCo twin, the mock bus: Bus::read_base_sensors) or from a
// wait-free buffer written by a device thread (a serial IMU such as the
// WitMotion one: ControlLoop::write_imu). A sample is new when its `sequence`
// advanced; no new IMU sample for more than the configured number of cycles is
// a supervised FAULT (Reason::kImuStale), like missed bus replies.
//
// Conventions: the IMU's orientation is world_R_imu as a unit quaternion
// (w, x, y, z), world z up (gravity along -z); gyro is the angular velocity of
// the IMU frame in IMU axes [rad/s]; accel is the specific force in IMU axes
// [m/s^2] (at rest and level: (0, 0, +9.81)). Foot forces are the contact force
// the ground exerts on the foot, in world axes [N].
#pragma once

#include <array>
#include <cstdint>

namespace humanoid_rt {

// Contact frames (feet, or points of a foot) the estimator and the sensors handle.
inline constexpr int kMaxContacts = 4;

struct ImuSample {
  std::uint64_t sequence = 0;                      // increases with every new sample; 0 = none yet
  double t = 0.0;                                  // when it was measured (loop time [s]; informative)
  std::array<double, 4> orientation{1, 0, 0, 0};   // world_R_imu (w, x, y, z)
  std::array<double, 3> gyro{};                    // [rad/s], IMU axes
  std::array<double, 3> accel{};                   // specific force [m/s^2], IMU axes
};

struct FootSample {
  std::array<double, 3> force{};  // ground reaction force on the foot, world axes [N]
  double normal_force = 0.0;      // its component along the contact normal (world z on flat ground) [N]
};

struct BaseSensors {
  ImuSample imu{};
  int n_feet = 0;  // 0: this source measures no foot force (the estimator then uses its contact schedule)
  std::array<FootSample, kMaxContacts> feet{};
};

}  // namespace humanoid_rt

namespace humanoid_rt {

// What the base state estimator publishes every cycle (telemetry, snapshot, Robot.base_state()).
struct BaseState {
  bool valid = false;                               // an estimator runs and has been initialised
  std::array<double, 3> position{};                 // base (root link) origin in world [m]
  std::array<double, 3> velocity{};                 // its linear velocity, world axes [m/s]
  std::array<double, 4> orientation{1, 0, 0, 0};    // world_R_base (w, x, y, z), from the IMU
  std::array<double, 3> angular_velocity{};         // base angular velocity, base axes [rad/s]
  std::array<double, 3 * kMaxContacts> foot_position{};  // contact points in world [m], 3 per contact
  std::array<std::uint8_t, kMaxContacts> contact{};      // 1 = the contact point is taken as on the ground
  std::array<double, 6 + 3 * kMaxContacts> covariance_diagonal{};  // Kalman state covariance, same order
  std::uint8_t n_contacts = 0;
};

}  // namespace humanoid_rt
