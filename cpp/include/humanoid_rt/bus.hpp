// The interface every fieldbus implements (mock, MuJoCo twin, CAN, EtherCAT),
// in the ros2_control lifecycle vocabulary.
//
//   configure()  non-RT: open channels, check devices, allocate everything
//   activate()   non-RT: bring drives to a state where read/write work
//   read()       RT: fill the motor-side state of this bus's joints
//   write()      RT: send the motor-side command of this bus's joints
//   deactivate() non-RT: torque off, release drives
//
// A bus owns a subset of the robot's joints, given as robot joint indices in
// configure order; read/write touch only those entries of the full arrays.
// read() and write() must not allocate, lock, log or block beyond the bus's
// own I/O deadline.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "humanoid_rt/base_sensors.hpp"
#include "humanoid_rt/types.hpp"

namespace humanoid_rt {

enum class BusStatus : std::uint8_t {
  kOk = 0,
  kTimeout = 1,  // the bus as a whole did not answer within its deadline
  kError = 2,    // the bus reported an unrecoverable error (link down, protocol)
};

class Bus {
 public:
  virtual ~Bus() = default;

  virtual const std::string& name() const = 0;
  virtual void configure(const std::vector<int>& joint_indices, double period_s) = 0;
  virtual void activate() = 0;
  virtual BusStatus read(double t, JointState& motor_state) = 0;
  virtual BusStatus write(double t, const JointCommand& motor_command) = 0;
  virtual void deactivate() = 0;

  // Floating-base sensing (issue 13), RT, called right after read(): a bus that carries an IMU
  // (and foot force sensors) fills `out` and returns true. The default is a bus without one
  // (CAN, EtherCAT): false, `out` untouched. A stale IMU repeats its last sequence number.
  virtual bool read_base_sensors(double t, BaseSensors& out) { return false; }
  // Non-RT: whether read_base_sensors() ever returns true on this bus.
  virtual bool carries_imu() const { return false; }
};

}  // namespace humanoid_rt
