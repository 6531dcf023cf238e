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
    : name_(std::move(name)), options_(options), rng_(options.seed) {
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

void MockBus::integrate(double dt, const JointCommand& cmd) {
  const double h = dt / options_.substeps;
  for (int j : joints_) {
    const MockActuator& a = actuators_[j];
    const double tau_ext = faults_[j].external_torque.load(std::memory_order_relaxed);
    double tau_sum = 0.0;
    for (int s = 0; s < options_.substeps; ++s) {
      double tau_in = 0.0;
      if (cmd.torque_enabled[j]) {
        tau_in = cmd.tau[j];
        if (cmd.mode[j] == CommandMode::kDriveImpedance)
          tau_in += cmd.kp[j] * (cmd.q[j] - q_[j]) + cmd.kd[j] * (cmd.dq[j] - dq_[j]);
      }
      tau_in = std::clamp(tau_in, -a.torque_limit_nm, a.torque_limit_nm);
      tau_sum += tau_in;
      // Viscous friction implicit (stable for any b*h/I); Coulomb friction as an impulse that cannot reverse motion.
      double v = (dq_[j] + h / a.inertia_kgm2 * (tau_in + tau_ext)) / (1.0 + h * a.viscous_nm_s_rad / a.inertia_kgm2);
      const double coulomb_dv = a.coulomb_nm * h / a.inertia_kgm2;
      v = std::abs(v) <= coulomb_dv ? 0.0 : v - std::copysign(coulomb_dv, v);
      dq_[j] = v;
      q_[j] += h * v;
    }
    tau_applied_[j] = tau_sum / options_.substeps;
  }
}

BusStatus MockBus::read(double t, JointState& motor_state) {
  // Physics advances from the previous read to now under the command that the latency line delivers.
  if (started_ && t > t_last_) {
    const std::size_t depth = command_queue_.size();
    if (commands_written_ >= depth) {
      // The command written latency_cycles cycles before the newest one.
      const std::uint64_t delivered = commands_written_ - depth;
      JointCommand joint_cmd;
      transmission_.command_to_joint(kMaxJoints, command_queue_[delivered % depth], joint_cmd);
      integrate(t - t_last_, joint_cmd);
    } else {
      integrate(t - t_last_, JointCommand{});  // nothing delivered yet: drives still torque-off
    }
  }
  started_ = true;
  t_last_ = t;

  if (bus_timeout_.load(std::memory_order_relaxed)) return BusStatus::kTimeout;

  JointState joint_side;
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
    if (options_.position_noise_rad > 0.0) q_meas += options_.position_noise_rad * noise_(rng_);
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
    joint_side.q[j] = q_meas;
    joint_side.dq[j] = dq_[j];
    joint_side.tau[j] = tau_applied_[j];
    const double injected_temperature = f.temperature_c.load(std::memory_order_relaxed);
    joint_side.temperature_c[j] = injected_temperature != 0.0 ? injected_temperature : options_.ambient_temperature_c;
    joint_side.drive_error[j] = f.drive_error.load(std::memory_order_relaxed);
    joint_side.fresh[j] = 1;
  }
  // Convert the fresh entries to motor side as a drive would report them.
  JointState motor_side;
  transmission_.state_to_motor(kMaxJoints, joint_side, motor_side);
  for (int j : joints_) {
    if (!joint_side.fresh[j]) continue;
    copy_joint(j, motor_side, motor_state);
    motor_state.fresh[j] = 1;
    copy_joint(j, motor_side, last_reply_);
  }
  return BusStatus::kOk;
}

BusStatus MockBus::write(double /*t*/, const JointCommand& motor_command) {
  command_queue_[commands_written_ % command_queue_.size()] = motor_command;
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
    imu.gyro[k] = options_.imu_gyro_noise_rad_s > 0.0 ? options_.imu_gyro_noise_rad_s * noise_(rng_) : 0.0;
    imu.accel[k] = (k == 2 ? 9.81 : 0.0) +
                   (options_.imu_accel_noise_m_s2 > 0.0 ? options_.imu_accel_noise_m_s2 * noise_(rng_) : 0.0);
  }
  return true;
}

}  // namespace humanoid_rt
