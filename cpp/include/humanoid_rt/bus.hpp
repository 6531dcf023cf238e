// The interface every fieldbus implements (mock, MuJoCo twin, CAN, EtherCAT),
// in the ros2_control lifecycle vocabulary.
//
//   configure()  non-RT: open channels, check devices, allocate everything
//   activate()   non-RT: bring drives to a state where read/write work
//   read()       RT: fill the motor-side state of this bus's joints
//   write()      RT: send the motor-side command of this bus's joints
//   deactivate() non-RT: torque off, release drives
//
// Beside the lifecycle, every bus answers the same non-RT questions, so the runtime drives any
// bus without knowing its type: set_realtime() (how long read() may wait for replies),
// request_fault_reset() / fault_reset_pending() (drives that latch faults), counters() (one key
// scheme for every bus's statistics). The defaults suit a bus without that feature.
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

// The counters every bus can keep, in one key scheme (robot.bus_counters(), the demo, bench JSON).
// A bus without frames (mock, MuJoCo) reports zeros; its own statistics() says more.
struct BusCounters {
  std::uint64_t cycles = 0;           // exchange cycles run
  std::uint64_t frames_sent = 0;
  std::uint64_t frames_received = 0;
  std::uint64_t missed_replies = 0;   // replies (or whole frames) absent at their deadline
  std::uint64_t rejected_frames = 0;  // received but unusable: wrong id, malformed, wrong working counter
  std::uint64_t send_errors = 0;      // frames the channel refused
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

  // Non-RT, loop stopped: true while the loop runs in real time (a bus that waits for replies
  // waits briefly), false for stepped mode (it waits long, so stepped runs stay exact). Default:
  // a bus that never waits (mock, MuJoCo).
  virtual void set_realtime(bool realtime) {}
  // Any non-RT thread: ask every drive in fault to reset (CiA 402: controlword bit 7 rising edge,
  // sent from the loop). Default: a bus whose devices latch no faults of their own.
  virtual void request_fault_reset() {}
  // Any thread: a requested fault reset is still being carried out.
  virtual bool fault_reset_pending() const { return false; }
  // Any thread (relaxed reads of counters the loop thread writes).
  virtual BusCounters counters() const { return {}; }
};

}  // namespace humanoid_rt
