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
  for (int s = 0; s < steps; ++s) {
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
    joint_side.temperature_c[j] = 35.0;
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
