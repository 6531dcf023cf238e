// The one virtual CiA 402 drive: its power state machine (cia402.hpp's device_transition), its
// faults and the load it moves. The fieldbus ends wrap it with their own object dictionary and
// process data: the EtherCAT virtual slave (drivers/ethercat/virtual_slave/virtual_drive.*, CoE)
// and the CANopen virtual node (src/humanoid_rt/can/cia402.py: SDO, PDO, NMT and EMCY with the
// `canopen` EDS, through the bindings `_core.can.Cia402DriveModel`).
//
// Units here are SI, motor side (rad, rad/s, Nm); the wrappers convert counts, counts/s and per
// mille of the rated torque.
//
// Load: I ddq = sat(tau) - b dq - c sign(dq) (drivers/rotor/rotor.hpp) in `substeps` steps per cycle, with
//   Operation enabled, CSP  bandwidth_hz > 0: the drive's own position loop, critically damped at
//                           that bandwidth (kp = I w^2, kd = 2 I w); 0: an ideal axis that is at
//                           the target each cycle (dq = the difference over the period, tau 0)
//   Operation enabled, CSV  kd (dq* - dq); ideal axis: dq = the target
//   Operation enabled, CST  the target torque
//   Quick stop active       braking on the quick-stop ramp, tau = -(I / T) dq with
//                           T = 1 / (2 w) (bandwidth > 0) or max(period, 20 ms) (ideal axis)
//   any other state         no torque (the power stage is off: the load coasts)
// A quick stop that has run for a cycle and finished (|dq| < 1e-3 rad/s) ends in Switch on
// disabled at the next controlword when 0x605A is 1..4 (transition 12), and holds in Quick stop
// active when it is 5..8.
//
// Not thread-safe: it belongs to its wrapper, whose owner serialises every call.
#pragma once

#include <cstdint>
#include <limits>

#include "cia402/cia402.hpp"

namespace humanoid_rt::cia402 {

struct DriveLoad {
  double inertia_kgm2 = 0.05;
  double viscous_nm_s_rad = 0.05;
  double coulomb_nm = 0.0;
  double torque_limit_nm = std::numeric_limits<double>::infinity();  // besides the max torque of step()
  int substeps = 1;
  double bandwidth_hz = 0.0;  // 0: ideal axis in CSP / CSV
};

class VirtualDrive {
 public:
  explicit VirtualDrive(const DriveLoad& load, double q0 = 0.0);

  // A controlword takes effect (at the cycle: the EtherCAT frame, the CANopen SYNC).
  void controlword(std::uint16_t cw, std::int16_t quick_stop_option);
  // A fault (transition 13): Fault reaction active, then Fault at the next controlword. A
  // persistent cause survives fault resets until clear_fault_cause().
  void raise_fault(std::uint16_t code, bool persistent);
  void clear_fault_cause() { fault_cause_ = 0; }
  // One cycle of the load (targets motor side; max_torque_nm limits every torque).
  void step(double period_s, Mode mode, double q_target, double dq_target, double tau_target, double max_torque_nm);
  // Leaving the fieldbus's operational state: the outputs are invalid, the power stage goes off.
  void lose_outputs();

  State state() const { return state_; }
  void set_state(State s) { state_ = s; }  // tests that start from a given state
  double q() const { return q_; }
  double dq() const { return dq_; }
  double tau() const { return tau_; }
  std::uint16_t last_controlword() const { return last_controlword_; }
  std::uint16_t fault_code() const { return fault_code_; }  // 0x603F while in Fault

 private:
  const DriveLoad load_;
  State state_ = State::kSwitchOnDisabled;
  double q_ = 0.0, dq_ = 0.0, tau_ = 0.0;  // motor side: rad, rad/s, applied Nm
  std::uint16_t last_controlword_ = 0;
  std::uint16_t fault_code_ = 0;
  std::uint16_t fault_cause_ = 0;  // a persistent cause: a reset will not clear the fault
};

}  // namespace humanoid_rt::cia402
