// A simulated bus of independent actuators, for tests, demos and CI without a robot.
//
// Each joint is a rigid load behind a gearbox (modelled by the same
// Transmission the loop uses, so the conversion is exercised both ways):
//
//   I ddq = sat(tau_in, tau_max) - b dq - c sign(dq) + tau_ext
//   tau_in = tau                                   (torque mode)
//   tau_in = kp (q* - q) + kd (dq* - dq) + tau     (drive-side impedance, evaluated
//                                                   at every physics substep as a drive would)
//
// integrated with `substeps` semi-implicit Euler steps per cycle (viscous
// friction implicit, Coulomb friction as a velocity-reducing impulse that
// sticks at zero). Commands reach the actuator `latency_cycles` cycles after
// write(); measured position gets zero-mean noise of standard deviation
// `position_noise_rad` (Irwin-Hall: the sum of four uniforms, rescaled; bounded at
// 3.46 sigma like a real encoder's quantised error, and one 64-bit random draw per
// reading instead of a logarithm and a rejection loop).
//
// Per cycle the bus touches only its own joints: read() and write() convert and
// copy the entries of this bus's joints, never the full kMaxJoints arrays (five
// buses of a humanoid would otherwise move ~60 KB of zeros every cycle).
//
// Fault injection is written from any non-RT thread through atomics and takes
// effect at the next read()/write(): dropped replies, a frozen or jumped
// encoder, NaN position, a drive error code, over-temperature, bus timeout.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "humanoid_rt/bus.hpp"
#include "humanoid_rt/transmission.hpp"

namespace humanoid_rt {

struct MockActuator {
  double inertia_kgm2 = 0.2;
  double viscous_nm_s_rad = 0.2;
  double coulomb_nm = 0.5;
  double torque_limit_nm = 100.0;
};

struct MockBusOptions {
  int latency_cycles = 1;
  double position_noise_rad = 0.0;
  std::uint64_t seed = 0;
  int substeps = 4;
  double ambient_temperature_c = 35.0;
  // Simulated IMU (issue 13): the mock robot stands level and at rest; Gaussian noise per axis.
  double imu_gyro_noise_rad_s = 0.0;
  double imu_accel_noise_m_s2 = 0.0;
};

class MockBus final : public Bus {
 public:
  static constexpr int kMaxLatencyCycles = 100;

  MockBus(std::string name, const MockBusOptions& options);

  // Configuration time (before configure()).
  void set_actuator(int joint, const MockActuator& actuator, const JointTransmission& transmission);
  void set_joint_position(int joint, double q_joint);  // also allowed while stepped mode is paused

  // Bus interface.
  const std::string& name() const override { return name_; }
  void configure(const std::vector<int>& joint_indices, double period_s) override;
  void activate() override;
  BusStatus read(double t, JointState& motor_state) override;
  BusStatus write(double t, const JointCommand& motor_command) override;
  void deactivate() override;

  // Fault injection: any non-RT thread. Every call checks its arguments first (a joint this bus
  // carries, finite values, cycles >= -1) and throws naming the argument and the allowed values:
  // std::out_of_range for the joint, std::invalid_argument for the rest.
  void drop_replies(int joint, int cycles);  // -1 = until cleared
  void freeze_encoder(int joint, bool frozen) { faults_[checked(joint)].frozen.store(frozen); }
  void jump_encoder(int joint, double offset_rad) {
    faults_[checked(joint)].encoder_offset.store(finite(offset_rad, "offset_rad"));
  }
  void nan_position(int joint, bool on) { faults_[checked(joint)].nan_position.store(on); }
  void set_drive_error(int joint, std::uint16_t code) { faults_[checked(joint)].drive_error.store(code); }
  void set_temperature(int joint, double celsius) {
    faults_[checked(joint)].temperature_c.store(finite(celsius, "celsius"));
  }
  void set_external_torque(int joint, double nm) { faults_[checked(joint)].external_torque.store(finite(nm, "nm")); }
  void set_bus_timeout(bool on) { bus_timeout_.store(on); }
  void clear_faults();
  void drop_imu(bool dropped) { imu_dropped_.store(dropped); }  // the IMU stops delivering samples

  // Simulated IMU: level (identity orientation), at rest (gyro 0, specific force +9.81 z), plus noise.
  // No foot sensors: an estimator on the mock bus uses its contact schedule.
  bool carries_imu() const override { return true; }
  bool read_base_sensors(double t, BaseSensors& out) override;

  // True joint-side physics state. Read only while the loop is stopped or between step() calls.
  double true_position(int joint) const { return q_[checked(joint)]; }
  double true_velocity(int joint) const { return dq_[checked(joint)]; }

 private:
  struct Faults {
    std::atomic<int> drop_cycles{0};
    std::atomic<bool> frozen{false};
    std::atomic<double> encoder_offset{0.0};
    std::atomic<bool> nan_position{false};
    std::atomic<std::uint16_t> drive_error{0};
    std::atomic<double> temperature_c{0.0};  // 0 = ambient
    std::atomic<double> external_torque{0.0};
  };

  // Advances the physics by dt under the motor-side command `delivered` (nullptr: torque off).
  void integrate(double dt, const JointCommand* delivered);
  double noise();  // one zero-mean, unit-variance draw
  int checked(int joint) const;
  static double finite(double value, const char* argument);

  const std::string name_;
  const MockBusOptions options_;
  Transmission transmission_;                    // configuration time, then RT read-only
  std::array<MockActuator, kMaxJoints> actuators_{};  // configuration time, then RT read-only
  std::vector<int> joints_;                      // configuration time, then RT read-only

  // RT thread only (or the stepping thread).
  JointVector q_{}, dq_{}, tau_applied_{};
  JointVector frozen_q_{};
  JointFlags frozen_valid_{};
  JointState last_reply_{};                      // motor side, what a dropped reply repeats
  std::vector<JointCommand> command_queue_;      // latency line, sized in configure()
  std::uint64_t commands_written_ = 0;
  double t_last_ = 0.0;
  bool started_ = false;
  std::uint64_t rng_state_ = 0;                  // splitmix64 state, seeded from options.seed
  double substep_h_ = -1.0;                      // substep the coefficients below were computed for
  // Per bus joint k (not robot joint index), gathered so the substep loop runs over contiguous arrays.
  struct Integration {
    JointVector h_over_inertia{}, viscous_denominator{}, coulomb_dv{}, torque_limit{};  // for substep_h_
    JointVector tau{}, kp{}, kd{}, q_target{}, dq_target{}, tau_ext{}, q{}, dq{}, tau_sum{};
  } integration_{};

  std::array<Faults, kMaxJoints> faults_;        // written by any non-RT thread, read by the RT thread
  std::atomic<bool> bus_timeout_{false};
  std::atomic<bool> imu_dropped_{false};         // any non-RT thread writes, the RT thread reads
  std::uint64_t imu_sequence_ = 0;               // RT thread only
};

}  // namespace humanoid_rt
