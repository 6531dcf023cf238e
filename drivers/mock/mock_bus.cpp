#include "mock_bus.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace humanoid_rt {

namespace {
// One joint's reply fields (freshness is the caller's to set).
void copy_joint(int j, const JointState& from, JointState& to) {
  to.q[j] = from.q[j];
  to.dq[j] = from.dq[j];
  to.tau[j] = from.tau[j];
  to.temperature_c[j] = from.temperature_c[j];
  to.drive_error[j] = from.drive_error[j];
}
}  // namespace

MockBus::MockBus(std::string name, const MockBusOptions& options)
    : name_(std::move(name)), options_(options), rng_state_(options.seed) {
  if (options.latency_cycles < 0 || options.latency_cycles > kMaxLatencyCycles)
    throw std::invalid_argument("mock bus latency_cycles must be in 0..100");
  if (options.substeps < 1) throw std::invalid_argument("mock bus substeps must be >= 1");
  if (!(options.position_noise_rad >= 0.0)) throw std::invalid_argument("mock bus position_noise_rad must be >= 0");
}

void MockBus::set_actuator(int joint, const MockActuator& actuator, const JointTransmission& transmission) {
  if (joint < 0 || joint >= kMaxJoints) throw std::out_of_range("mock actuator joint index");
  if (!(actuator.inertia_kgm2 > 0.0)) throw std::invalid_argument("mock actuator inertia must be > 0");
  actuators_[joint] = actuator;
  transmission_.set(joint, transmission);
  substep_h_ = -1.0;  // integration coefficients recomputed at the next cycle
}

int MockBus::checked(int joint) const {
  const bool known = joints_.empty() ? (joint >= 0 && joint < kMaxJoints)
                                     : std::find(joints_.begin(), joints_.end(), joint) != joints_.end();
  if (known) return joint;
  std::string allowed;
  if (joints_.empty()) {
    allowed = "0.." + std::to_string(kMaxJoints - 1);
  } else {
    for (int j : joints_) allowed += (allowed.empty() ? "" : ", ") + std::to_string(j);
  }
  throw std::out_of_range("joint: " + std::to_string(joint) + " is not on mock bus '" + name_ + "'; allowed: " + allowed);
}

double MockBus::finite(double value, const char* argument) {
  if (!std::isfinite(value)) throw std::invalid_argument(std::string(argument) + ": must be finite; allowed: a finite number");
  return value;
}

void MockBus::drop_replies(int joint, int cycles) {
  const int j = checked(joint);
  if (cycles < -1)
    throw std::invalid_argument("cycles: " + std::to_string(cycles) + "; allowed: >= 0, or -1 (until cleared)");
  faults_[j].drop_cycles.store(cycles);
}

void MockBus::set_joint_position(int joint, double q_joint) {
  joint = checked(joint);
  q_[joint] = finite(q_joint, "q");
  dq_[joint] = 0.0;
}

void MockBus::configure(const std::vector<int>& joint_indices, double /*period_s*/) {
  joints_ = joint_indices;
  substep_h_ = -1.0;
  command_queue_.assign(static_cast<std::size_t>(options_.latency_cycles) + 1, JointCommand{});
  commands_written_ = 0;
  started_ = false;
}

void MockBus::activate() { started_ = false; }

void MockBus::deactivate() {
  for (int j : joints_) tau_applied_[j] = 0.0;
}

void MockBus::clear_faults() {
  for (auto& f : faults_) {
    f.drop_cycles.store(0);
    f.frozen.store(false);
    f.encoder_offset.store(0.0);
    f.nan_position.store(false);
    f.drive_error.store(0);
    f.temperature_c.store(0.0);
    f.external_torque.store(0.0);
  }
  bus_timeout_.store(false);
}

double MockBus::noise() {
  // splitmix64: one 64-bit draw, split into four 16-bit uniforms u_k in [0, 1).
  std::uint64_t z = (rng_state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  const double sum = static_cast<double>((z & 0xffff) + ((z >> 16) & 0xffff) + ((z >> 32) & 0xffff) + (z >> 48));
  // sum u_k has mean 2 and variance 4/12; in 16-bit units: mean 2 * 65536 (minus the half-step bias), sd 65536 / sqrt(3).
  constexpr double kMean = 2.0 * 65535.0, kScale = 1.7320508075688772 / 65536.0;
  return (sum - kMean) * kScale;
}

void MockBus::integrate(double dt, const JointCommand* delivered) {
  const double h = dt / options_.substeps;
  const int count = static_cast<int>(joints_.size());
  Integration& x = integration_;
  if (std::abs(h - substep_h_) > 1e-12 * h) {
    // The coefficients depend on the substep only: recomputed when dt changes (a skipped period in real
    // time), not for the last-bit differences of loop times built from cycle counts.
    for (int k = 0; k < count; ++k) {
      const MockActuator& a = actuators_[joints_[k]];
      x.h_over_inertia[k] = h / a.inertia_kgm2;
      x.viscous_denominator[k] = 1.0 + h * a.viscous_nm_s_rad / a.inertia_kgm2;
      x.coulomb_dv[k] = a.coulomb_nm * h / a.inertia_kgm2;
      x.torque_limit[k] = a.torque_limit_nm;
    }
    substep_h_ = h;
  }
  // Gather: the delivered motor-side command converted to the joint side (the drive's view of its load).
  // Torque off: no torque and no gains; torque mode: no gains, so the substep law below is the same for all.
  for (int k = 0; k < count; ++k) {
    const int j = joints_[k];
    x.tau[k] = x.kp[k] = x.kd[k] = x.q_target[k] = x.dq_target[k] = 0.0;
    if (delivered != nullptr && delivered->torque_enabled[j]) {
      const JointTransmission& tr = transmission_.joint(j);
      const double ratio = tr.direction * tr.gear;
      const double gear_sq = tr.gear * tr.gear;
      x.tau[k] = delivered->tau[j] * ratio;
      if (delivered->mode[j] == CommandMode::kDriveImpedance) {
        x.q_target[k] = (delivered->q[j] - tr.offset) / ratio;
        x.dq_target[k] = delivered->dq[j] / ratio;
        x.kp[k] = delivered->kp[j] * gear_sq;
        x.kd[k] = delivered->kd[j] * gear_sq;
      }
    }
    x.tau_ext[k] = faults_[j].external_torque.load(std::memory_order_relaxed);
    x.q[k] = q_[j];
    x.dq[k] = dq_[j];
    x.tau_sum[k] = 0.0;
  }
  for (int s = 0; s < options_.substeps; ++s) {
    // Branch-free over the bus's joints (the compiler vectorises it).
    for (int k = 0; k < count; ++k) {
      const double limit = x.torque_limit[k];
      double tau_in = x.tau[k] + (x.kp[k] * (x.q_target[k] - x.q[k]) + x.kd[k] * (x.dq_target[k] - x.dq[k]));
      tau_in = std::min(std::max(tau_in, -limit), limit);  // branch-free clamp (minsd/maxsd)
      x.tau_sum[k] += tau_in;
      // Viscous friction implicit (stable for any b*h/I); Coulomb friction as an impulse that cannot
      // reverse motion: v - clamp(v, -dv, dv) is 0 within the impulse, else v reduced by it toward 0.
      const double v = (x.dq[k] + x.h_over_inertia[k] * (tau_in + x.tau_ext[k])) / x.viscous_denominator[k];
      const double dv = x.coulomb_dv[k];
      const double v_after = v - std::min(std::max(v, -dv), dv);
      x.dq[k] = v_after;
      x.q[k] += h * v_after;
    }
  }
  for (int k = 0; k < count; ++k) {
    const int j = joints_[k];
    q_[j] = x.q[k];
    dq_[j] = x.dq[k];
    tau_applied_[j] = x.tau_sum[k] / options_.substeps;
  }
}

BusStatus MockBus::read(double t, JointState& motor_state) {
  // Physics advances from the previous read to now under the command that the latency line delivers.
  if (started_ && t > t_last_) {
    const std::size_t depth = command_queue_.size();
    // The command written latency_cycles cycles before the newest one; before that, drives are still torque-off.
    const JointCommand* delivered =
        commands_written_ >= depth ? &command_queue_[(commands_written_ - depth) % depth] : nullptr;
    integrate(t - t_last_, delivered);
  }
  started_ = true;
  t_last_ = t;

  if (bus_timeout_.load(std::memory_order_relaxed)) return BusStatus::kTimeout;

  for (int j : joints_) {
    Faults& f = faults_[j];
    const int drop = f.drop_cycles.load(std::memory_order_relaxed);
    if (drop != 0) {
      if (drop > 0) f.drop_cycles.store(drop - 1, std::memory_order_relaxed);
      copy_joint(j, last_reply_, motor_state);
      motor_state.fresh[j] = 0;
      continue;
    }
    double q_meas = q_[j] + f.encoder_offset.load(std::memory_order_relaxed);
    if (options_.position_noise_rad > 0.0) q_meas += options_.position_noise_rad * noise();
    if (f.frozen.load(std::memory_order_relaxed)) {
      if (!frozen_valid_[j]) {
        frozen_q_[j] = q_meas;
        frozen_valid_[j] = 1;
      }
      q_meas = frozen_q_[j];
    } else {
      frozen_valid_[j] = 0;
    }
    if (f.nan_position.load(std::memory_order_relaxed)) q_meas = std::numeric_limits<double>::quiet_NaN();
    // Joint side -> motor side, as the drive reports it.
    const JointTransmission& tr = transmission_.joint(j);
    const double ratio = tr.direction * tr.gear;
    const double injected_temperature = f.temperature_c.load(std::memory_order_relaxed);
    motor_state.q[j] = q_meas * ratio + tr.offset;
    motor_state.dq[j] = dq_[j] * ratio;
    motor_state.tau[j] = tau_applied_[j] / ratio;
    motor_state.temperature_c[j] = injected_temperature != 0.0 ? injected_temperature : options_.ambient_temperature_c;
    motor_state.drive_error[j] = f.drive_error.load(std::memory_order_relaxed);
    motor_state.fresh[j] = 1;
    copy_joint(j, motor_state, last_reply_);
  }
  return BusStatus::kOk;
}

BusStatus MockBus::write(double /*t*/, const JointCommand& motor_command) {
  // Only this bus's joints: the rest of each queued command stays zero and is never read.
  JointCommand& queued = command_queue_[commands_written_ % command_queue_.size()];
  for (int j : joints_) {
    queued.tau[j] = motor_command.tau[j];
    queued.q[j] = motor_command.q[j];
    queued.dq[j] = motor_command.dq[j];
    queued.kp[j] = motor_command.kp[j];
    queued.kd[j] = motor_command.kd[j];
    queued.torque_enabled[j] = motor_command.torque_enabled[j];
    queued.mode[j] = motor_command.mode[j];
  }
  ++commands_written_;
  return bus_timeout_.load(std::memory_order_relaxed) ? BusStatus::kTimeout : BusStatus::kOk;
}

bool MockBus::read_base_sensors(double t, BaseSensors& out) {
  out.n_feet = 0;
  if (imu_dropped_.load(std::memory_order_relaxed)) return true;  // the last sample stays, its sequence too
  ImuSample& imu = out.imu;
  imu.sequence = ++imu_sequence_;
  imu.t = t;
  imu.orientation = {1.0, 0.0, 0.0, 0.0};
  for (int k = 0; k < 3; ++k) {
    imu.gyro[k] = options_.imu_gyro_noise_rad_s > 0.0 ? options_.imu_gyro_noise_rad_s * noise() : 0.0;
    imu.accel[k] = (k == 2 ? 9.81 : 0.0) +
                   (options_.imu_accel_noise_m_s2 > 0.0 ? options_.imu_accel_noise_m_s2 * noise() : 0.0);
  }
  return true;
}

}  // namespace humanoid_rt
