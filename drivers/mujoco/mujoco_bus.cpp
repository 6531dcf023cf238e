#include "mujoco_bus.hpp"

#include <mujoco/mujoco.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace humanoid_rt {

MujocoBus::MujocoBus(std::string name, const std::string& mjcf_xml, const MujocoBusOptions& options)
    : name_(std::move(name)), options_(options), rng_(options.seed) {
  if (options.substeps < 1) throw std::invalid_argument("mujoco bus substeps must be >= 1");
  char error[1024] = "";
  mjSpec* spec = mj_parseXMLString(mjcf_xml.c_str(), nullptr, error, sizeof(error));
  if (!spec) throw std::invalid_argument(std::string("MJCF did not parse: ") + error);
  model_ = mj_compile(spec, nullptr);
  if (!model_) {
    const std::string message = mjs_getError(spec);
    mj_deleteSpec(spec);
    throw std::invalid_argument("MJCF did not compile: " + message);
  }
  mj_deleteSpec(spec);
  data_ = mj_makeData(model_);
  if (!data_) throw std::runtime_error("mj_makeData failed");
  for (int j = 0; j < model_->njnt; ++j)
    if (model_->jnt_type[j] == mjJNT_FREE) {
      free_qpos_ = model_->jnt_qposadr[j];
      free_dof_ = model_->jnt_dofadr[j];
      root_body_ = model_->jnt_bodyid[j];
      break;
    }
  auto sensor = [this](const char* name) {
    const int id = mj_name2id(model_, mjOBJ_SENSOR, name);
    return id < 0 ? -1 : model_->sensor_adr[id];
  };
  imu_quat_ = sensor("humanoid_rt_imu_quat");
  imu_gyro_ = sensor("humanoid_rt_imu_gyro");
  imu_accel_ = sensor("humanoid_rt_imu_accel");
  if ((imu_quat_ < 0) != (imu_gyro_ < 0) || (imu_quat_ < 0) != (imu_accel_ < 0))
    throw std::invalid_argument("MJCF: the humanoid_rt_imu sensors (quat, gyro, accel) come together or not at all");
  floor_geom_ = mj_name2id(model_, mjOBJ_GEOM, "floor");
  for (auto& celsius : injected_temperature_c_) celsius.store(35.0);
  for (auto& nm : injected_torque_nm_) nm.store(0.0);
}

void MujocoBus::set_temperature(int joint, double celsius) {
  if (joint < 0 || joint >= kMaxJoints || map_[joint].actuator < 0)
    throw std::out_of_range("joint: not a joint of this bus");
  if (!std::isfinite(celsius)) throw std::invalid_argument("celsius: allowed: a finite number");
  injected_temperature_c_[joint].store(celsius);
}

void MujocoBus::set_external_torque(int joint, double nm) {
  if (joint < 0 || joint >= kMaxJoints || map_[joint].actuator < 0)
    throw std::out_of_range("joint: not a joint of this bus");
  if (!std::isfinite(nm) || std::abs(nm) > 1e4) throw std::invalid_argument("nm: allowed: a finite number within +-10000");
  injected_torque_nm_[joint].store(nm);
}

MujocoBus::~MujocoBus() {
  if (data_) mj_deleteData(data_);
  if (model_) mj_deleteModel(model_);
}

void MujocoBus::set_joint(int joint, const std::string& mujoco_joint, const std::string& actuator,
                          const JointTransmission& transmission) {
  if (joint < 0 || joint >= kMaxJoints) throw std::out_of_range("mujoco bus joint index");
  const int jid = mj_name2id(model_, mjOBJ_JOINT, mujoco_joint.c_str());
  if (jid < 0) throw std::invalid_argument("the MuJoCo model has no joint '" + mujoco_joint + "'");
  const int aid = mj_name2id(model_, mjOBJ_ACTUATOR, actuator.c_str());
  if (aid < 0) throw std::invalid_argument("the MuJoCo model has no actuator '" + actuator + "'");
  if (model_->jnt_type[jid] != mjJNT_HINGE && model_->jnt_type[jid] != mjJNT_SLIDE)
    throw std::invalid_argument("MuJoCo joint '" + mujoco_joint + "' is not a 1-DoF joint");
  map_[joint] = JointMap{model_->jnt_qposadr[jid], model_->jnt_dofadr[jid], aid};
  transmission_.set(joint, transmission);
}

void MujocoBus::set_joint_position(int joint, double q_joint) {
  data_->qpos[map_[joint].qpos_address] = q_joint;
  data_->qvel[map_[joint].dof_address] = 0.0;
  mj_forward(model_, data_);
}

void MujocoBus::configure(const std::vector<int>& joint_indices, double period_s) {
  for (int j : joint_indices)
    if (map_[j].actuator < 0) throw std::invalid_argument("mujoco bus: joint " + std::to_string(j) + " not mapped");
  joints_ = joint_indices;
  model_->opt.timestep = period_s / options_.substeps;
  mj_forward(model_, data_);
}

void MujocoBus::activate() { started_ = false; }

void MujocoBus::deactivate() {
  for (int j : joints_) data_->ctrl[map_[j].actuator] = 0.0;
}

void MujocoBus::integrate(double dt) {
  const int steps = std::max(1, static_cast<int>(std::lround(dt / model_->opt.timestep)));
  if (push_pending_.exchange(false, std::memory_order_acquire)) {
    push_force_ = push_request_force_;
    push_steps_left_ = push_request_steps_;
  }
  for (int s = 0; s < steps; ++s) {
    if (root_body_ >= 0) {  // an external push on the pelvis, for exactly push_steps_left_ physics steps
      mjtNum* wrench = data_->xfrc_applied + 6 * root_body_;
      for (int k = 0; k < 3; ++k) wrench[k] = push_steps_left_ > 0 ? push_force_[k] : 0.0;
      if (push_steps_left_ > 0) --push_steps_left_;
    }
    for (int j : joints_) {
      double tau = 0.0;
      if (command_.torque_enabled[j]) {
        tau = command_.tau[j];
        if (command_.mode[j] == CommandMode::kDriveImpedance) {
          const double q = data_->qpos[map_[j].qpos_address], dq = data_->qvel[map_[j].dof_address];
          tau += command_.kp[j] * (command_.q[j] - q) + command_.kd[j] * (command_.dq[j] - dq);
        }
      }
      data_->ctrl[map_[j].actuator] = tau;  // the actuator's ctrlrange is the torque limit
      data_->qfrc_applied[map_[j].dof_address] = injected_torque_nm_[j].load(std::memory_order_relaxed);
    }
    mj_step(model_, data_);
  }
}

BusStatus MujocoBus::read(double t, JointState& motor_state) {
  if (started_ && t > t_last_) integrate(t - t_last_);
  started_ = true;
  t_last_ = t;
  JointState joint_side;
  for (int j : joints_) {
    const JointMap& m = map_[j];
    joint_side.q[j] = data_->qpos[m.qpos_address];
    joint_side.dq[j] = data_->qvel[m.dof_address];
    if (options_.position_noise_rad > 0.0) joint_side.q[j] += options_.position_noise_rad * noise_(rng_);
    if (options_.velocity_noise_rad_s > 0.0) joint_side.dq[j] += options_.velocity_noise_rad_s * noise_(rng_);
    joint_side.tau[j] = data_->actuator_force[m.actuator];
    joint_side.temperature_c[j] = injected_temperature_c_[j].load(std::memory_order_relaxed);
    joint_side.fresh[j] = 1;
  }
  JointState motor_side;
  transmission_.state_to_motor(kMaxJoints, joint_side, motor_side);
  for (int j : joints_) {
    motor_state.q[j] = motor_side.q[j];
    motor_state.dq[j] = motor_side.dq[j];
    motor_state.tau[j] = motor_side.tau[j];
    motor_state.temperature_c[j] = motor_side.temperature_c[j];
    motor_state.drive_error[j] = 0;
    motor_state.fresh[j] = 1;
  }
  return BusStatus::kOk;
}

BusStatus MujocoBus::write(double /*t*/, const JointCommand& motor_command) {
  transmission_.command_to_joint(kMaxJoints, motor_command, command_);
  return BusStatus::kOk;
}

std::vector<double> MujocoBus::qpos() const { return std::vector<double>(data_->qpos, data_->qpos + model_->nq); }
double MujocoBus::simulation_time() const { return data_->time; }
double MujocoBus::timestep() const { return model_->opt.timestep; }
int MujocoBus::contact_count() const { return data_->ncon; }

}  // namespace humanoid_rt

namespace humanoid_rt {

void MujocoBus::set_feet(const std::vector<std::string>& bodies) {
  if (static_cast<int>(bodies.size()) > kMaxContacts)
    throw std::invalid_argument("model.contacts: at most " + std::to_string(kMaxContacts) + " contact points");
  std::vector<int> ids;
  for (const auto& body : bodies) {
    const int id = mj_name2id(model_, mjOBJ_BODY, body.c_str());
    if (id < 0) throw std::invalid_argument("model.contacts: the MuJoCo model has no body '" + body + "'");
    ids.push_back(id);
  }
  foot_bodies_ = ids;
}

bool MujocoBus::read_base_sensors(double t, BaseSensors& out) {
  if (imu_quat_ < 0) return false;
  // MuJoCo evaluates sensors inside mj_step before integrating: they describe the start of the
  // last physics step (one step of latency, as a real IMU has some).
  if (!imu_dropped_.load(std::memory_order_relaxed)) {
    ImuSample& imu = out.imu;
    imu.sequence = ++imu_sequence_;
    imu.t = t;
    const mjtNum* s = data_->sensordata;
    double q[4] = {s[imu_quat_], s[imu_quat_ + 1], s[imu_quat_ + 2], s[imu_quat_ + 3]};
    if (options_.imu_orientation_noise_rad > 0.0) {
      // A small random rotation (rotation vector with Gaussian components) in the IMU frame.
      double v[3], dq[4] = {1.0, 0.0, 0.0, 0.0}, qn[4];
      for (double& component : v) component = options_.imu_orientation_noise_rad * noise_(rng_);
      mju_quatIntegrate(dq, v, 1.0);
      mju_mulQuat(qn, q, dq);
      mju_normalize4(qn);
      for (int k = 0; k < 4; ++k) q[k] = qn[k];
    }
    for (int k = 0; k < 4; ++k) imu.orientation[k] = q[k];
    for (int k = 0; k < 3; ++k) {
      imu.gyro[k] = s[imu_gyro_ + k] + options_.imu_gyro_bias_rad_s[k];
      if (options_.imu_gyro_noise_rad_s > 0.0) imu.gyro[k] += options_.imu_gyro_noise_rad_s * noise_(rng_);
      imu.accel[k] = s[imu_accel_ + k] + options_.imu_accel_bias_m_s2[k];
      if (options_.imu_accel_noise_m_s2 > 0.0) imu.accel[k] += options_.imu_accel_noise_m_s2 * noise_(rng_);
    }
  }
  // Foot forces: every contact between a foot body and the floor, in world axes, on the foot.
  out.n_feet = static_cast<int>(foot_bodies_.size());
  for (int i = 0; i < out.n_feet; ++i) out.feet[i] = FootSample{};
  for (int c = 0; c < data_->ncon; ++c) {
    const mjContact& contact = data_->contact[c];
    const int b1 = model_->geom_bodyid[contact.geom[0]], b2 = model_->geom_bodyid[contact.geom[1]];
    for (int i = 0; i < out.n_feet; ++i) {
      const bool foot1 = b1 == foot_bodies_[i], foot2 = b2 == foot_bodies_[i];
      if (!foot1 && !foot2) continue;
      mjtNum local[6], world[3];
      mj_contactForce(model_, data_, c, local);
      // contact.frame rows are the normal and two tangents (world axes); the force is geom1's on geom2.
      mju_mulMatTVec(world, contact.frame, local, 3, 3);
      const double sign = foot2 ? 1.0 : -1.0;
      for (int k = 0; k < 3; ++k) out.feet[i].force[k] += sign * world[k];
    }
  }
  for (int i = 0; i < out.n_feet; ++i) out.feet[i].normal_force = out.feet[i].force[2];
  return true;
}

std::vector<double> MujocoBus::base_pose() const {
  if (free_qpos_ < 0) return {};
  return std::vector<double>(data_->qpos + free_qpos_, data_->qpos + free_qpos_ + 7);
}

std::vector<double> MujocoBus::base_twist() const {
  if (free_dof_ < 0) return {};
  return std::vector<double>(data_->qvel + free_dof_, data_->qvel + free_dof_ + 6);
}

double MujocoBus::floor_height() const { return floor_geom_ < 0 ? 0.0 : model_->geom_pos[3 * floor_geom_ + 2]; }

void MujocoBus::set_base_pose(const std::vector<double>& pose) {
  if (free_qpos_ < 0) throw std::logic_error("set_base_pose(): the twin has a fixed base (floating: false)");
  if (pose.size() != 7) throw std::invalid_argument("pose: 7 values (x, y, z, qw, qx, qy, qz)");
  for (int k = 0; k < 7; ++k) data_->qpos[free_qpos_ + k] = pose[k];
  mju_normalize4(data_->qpos + free_qpos_ + 3);
  for (int k = 0; k < 6; ++k) data_->qvel[free_dof_ + k] = 0.0;
  mj_forward(model_, data_);
}

int MujocoBus::push(const std::array<double, 3>& impulse_ns, double duration_s) {
  if (root_body_ < 0) throw std::logic_error("push(): the twin has a fixed base (floating: false)");
  for (double component : impulse_ns)
    if (!std::isfinite(component) || std::abs(component) > 1e4)
      throw std::invalid_argument("impulse_ns: allowed: three finite numbers within +-10000 N s");
  const double dt = model_->opt.timestep;
  if (!(std::isfinite(duration_s) && duration_s >= 0.5 * dt && duration_s <= 5.0))
    throw std::invalid_argument("duration_s: allowed: a number in [" + std::to_string(dt) + ", 5] s (one physics step at least)");
  if (push_pending_.load(std::memory_order_acquire))
    throw std::logic_error("push(): the previous push has not been taken yet; step the loop first");
  const int steps = std::max(1, static_cast<int>(std::lround(duration_s / dt)));
  for (int k = 0; k < 3; ++k) push_request_force_[k] = impulse_ns[k] / (steps * dt);
  push_request_steps_ = steps;
  push_pending_.store(true, std::memory_order_release);
  return steps;
}

double MujocoBus::rest_on_floor() {
  if (free_qpos_ < 0) throw std::logic_error("rest_on_floor(): the twin has a fixed base (floating: false)");
  mj_forward(model_, data_);
  double lowest = 1e300;
  for (int g = 0; g < model_->ngeom; ++g) {
    if (g == floor_geom_ || model_->geom_bodyid[g] == 0) continue;
    const mjtNum* p = data_->geom_xpos + 3 * g;
    const mjtNum* R = data_->geom_xmat + 9 * g;
    const mjtNum* size = model_->geom_size + 3 * g;
    double low = p[2] - model_->geom_rbound[g];
    switch (model_->geom_type[g]) {
      case mjGEOM_SPHERE: low = p[2] - size[0]; break;
      case mjGEOM_CAPSULE: low = p[2] - std::abs(R[8]) * size[1] - size[0]; break;
      case mjGEOM_BOX:  // the lowest corner: sum of |z components| of the half axes
        low = p[2] - std::abs(R[6]) * size[0] - std::abs(R[7]) * size[1] - std::abs(R[8]) * size[2];
        break;
      default: break;
    }
    lowest = std::min(lowest, low);
  }
  if (lowest > 1e299) return 0.0;
  const double shift = floor_height() - lowest;
  data_->qpos[free_qpos_ + 2] += shift;
  mj_forward(model_, data_);
  return shift;
}

}  // namespace humanoid_rt
