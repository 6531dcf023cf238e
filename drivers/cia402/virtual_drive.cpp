#include "cia402/virtual_drive.hpp"

#include "rotor/rotor.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace humanoid_rt::cia402 {

VirtualDrive::VirtualDrive(const DriveLoad& load, double q0) : load_(load), q_(q0) {
  if (!(load.inertia_kgm2 > 0.0) || load.substeps < 1 || !(load.bandwidth_hz >= 0.0))
    throw std::invalid_argument("virtual CiA 402 drive: inertia_kgm2 must be > 0, substeps >= 1, bandwidth_hz >= 0");
}

void VirtualDrive::controlword(std::uint16_t cw, std::int16_t quick_stop_option) {
  const State before = state_;
  state_ = device_transition(state_, cw, last_controlword_, quick_stop_option, fault_cause_ == 0);
  if (before == State::kFault && state_ == State::kSwitchOnDisabled) fault_code_ = 0;  // 15: reset
  // 12 by itself: the quick stop ramp (run since an earlier cycle) is done.
  if (before == State::kQuickStopActive && state_ == State::kQuickStopActive &&
      quick_stop_ends_disabled(quick_stop_option) && std::fabs(dq_) < 1e-3)
    state_ = State::kSwitchOnDisabled;
  last_controlword_ = cw;
}

void VirtualDrive::raise_fault(std::uint16_t code, bool persistent) {
  fault_code_ = code;
  fault_cause_ = persistent ? code : 0;
  if (state_ != State::kFault) state_ = State::kFaultReactionActive;
}

void VirtualDrive::lose_outputs() {
  if (state_ == State::kOperationEnabled) state_ = State::kSwitchOnDisabled;
}

void VirtualDrive::step(double dt, Mode mode, double q_target, double dq_target, double tau_target,
                        double max_torque_nm) {
  const double inertia = load_.inertia_kgm2;
  const bool ideal = !(load_.bandwidth_hz > 0.0);
  const bool enabled = state_ == State::kOperationEnabled;
  if (enabled && ideal && mode == Mode::kCsp) {  // the axis is where it was told to be
    const double q_prev = q_;
    q_ = q_target;
    dq_ = (q_ - q_prev) / dt;
    tau_ = 0.0;
    return;
  }
  if (enabled && ideal && mode == Mode::kCsv) {
    dq_ = dq_target;
    q_ += dq_ * dt;
    tau_ = 0.0;
    return;
  }
  const double w = 2.0 * M_PI * load_.bandwidth_hz;
  const double kp = inertia * w * w, kd = 2.0 * inertia * w;  // the drive's loop, critically damped
  const double limit = std::min(load_.torque_limit_nm, max_torque_nm);
  const double h = dt / load_.substeps;
  double total = 0.0;
  for (int i = 0; i < load_.substeps; ++i) {
    double tau = 0.0;
    if (enabled) {
      if (mode == Mode::kCsp) tau = kp * (q_target - q_) - kd * dq_;
      else if (mode == Mode::kCsv) tau = kd * (dq_target - dq_);
      else tau = tau_target;
    } else if (state_ == State::kQuickStopActive) {  // brake on the quick-stop ramp
      tau = ideal ? -inertia * dq_ / std::max(dt, 0.02) : -kd * dq_;
    }
    tau = std::max(-limit, std::min(limit, tau));
    total += tau;
    rotor::step(inertia, load_.viscous_nm_s_rad, load_.coulomb_nm, h, tau, q_, dq_);
  }
  tau_ = total / load_.substeps;
}

}  // namespace humanoid_rt::cia402
