// Pinocchio lives only in this translation unit: it is the slow one to compile.
#include "humanoid_rt/whole_body_impedance.hpp"

#include <algorithm>
#include <iterator>
#include <mutex>
#include <stdexcept>

#include <pinocchio/algorithm/frames.hpp>
#include <pinocchio/algorithm/jacobian.hpp>
#include <pinocchio/algorithm/kinematics.hpp>
#include <pinocchio/multibody/data.hpp>
#include <pinocchio/multibody/model.hpp>
#include <pinocchio/spatial/explog.hpp>

#include "task_reference.hpp"
#include "urdf_model.hpp"

namespace humanoid_rt {

namespace {
// Damping of the task-space pseudo-inverse: keeps N^T bounded near singular poses.
constexpr double kNullspaceDamping = 1e-3;
}  // namespace

struct WholeBodyImpedance::Impl {
  pinocchio::Model model;
  std::vector<std::string> task_frames;
  std::vector<pinocchio::FrameIndex> frame_ids;
  std::vector<int> v_index;  // config joint -> model velocity index
  std::vector<int> q_index;  // config joint -> model configuration index
  int n = 0;

  // Loop thread only (sized here, never resized).
  pinocchio::Data data;
  Eigen::VectorXd q, dq, tau, tau_posture, damping, kd, dq_task, reference_twists;
  Eigen::Matrix<double, 6, Eigen::Dynamic> J_frame;  // 6 x nv
  Eigen::MatrixXd Jt_stack;  // nv x 6 kMaxTasks: the enabled tasks' Jacobians, transposed (rows as contiguous columns)
  Eigen::MatrixXd JJt;       // 6k x 6k
  Eigen::VectorXd y;         // 6k
  Eigen::Matrix<double, 6, Eigen::Dynamic> subtree_wrench;  // 6 x njoints, gravity_from_placements()
  // Where the task Jacobians can be nonzero: a frame's Jacobian has columns only for the joints that
  // support it (its chain to the base). Per pair of task slots, the columns both chains share (for a left
  // and a right hand: the torso's); J J^T and J tau need only those. Fixed at construction.
  std::vector<std::vector<int>> task_columns;                  // per task slot, ascending velocity indices
  std::vector<std::vector<int>> shared_columns;                // [a * n_tasks + b]
  std::array<int, kMaxTasks> row_task{};                       // loop: task slot of each 6-row block of Jt_stack

  std::array<TaskReferenceMotion, kMaxTasks> motion{};  // loop thread only: each task's reference (world frame)

  // Analysis (non-RT) data, shared by Python threads.
  mutable std::mutex analysis_mutex;
  mutable pinocchio::Data analysis_data;

  // task_frame_pose() data: its own, so a Python analysis call never delays the teleop receiver.
  mutable std::mutex gate_mutex;
  mutable pinocchio::Data gate_data;
  mutable Eigen::VectorXd gate_q;

  Impl(const std::string& urdf_path, const std::vector<std::string>& joint_names,
       const std::vector<std::string>& frames)
      : task_frames(frames) {
    model = load_urdf_model(urdf_path, ModelRoot::kFixed);
    ConfigJointIndices indices = index_config_joints(model, joint_names, urdf_path);
    n = static_cast<int>(joint_names.size());
    q_index = std::move(indices.q);
    v_index = std::move(indices.v);
    if (static_cast<int>(frames.size()) > kMaxTasks)
      throw std::invalid_argument("tasks: at most " + std::to_string(kMaxTasks) + " task frames");
    for (const auto& frame : frames) {
      if (!model.existFrame(frame)) throw std::invalid_argument("tasks: '" + frame + "' is not a frame of the URDF");
      frame_ids.push_back(model.getFrameId(frame));
      std::vector<int> columns;
      for (const pinocchio::JointIndex joint : model.supports[model.frames[frame_ids.back()].parentJoint])
        if (joint > 0) columns.push_back(model.joints[joint].idx_v());
      std::sort(columns.begin(), columns.end());
      task_columns.push_back(std::move(columns));
    }
    for (const auto& a : task_columns)
      for (const auto& b : task_columns) {
        std::vector<int> both;
        std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
        shared_columns.push_back(std::move(both));
      }
    data = pinocchio::Data(model);
    analysis_data = pinocchio::Data(model);
    gate_data = pinocchio::Data(model);
    gate_q = pinocchio::neutral(model);
    q = Eigen::VectorXd::Zero(model.nq);
    dq = Eigen::VectorXd::Zero(model.nv);
    tau = Eigen::VectorXd::Zero(model.nv);
    tau_posture = Eigen::VectorXd::Zero(model.nv);
    damping = Eigen::VectorXd::Zero(model.nv);
    kd = Eigen::VectorXd::Zero(model.nv);
    dq_task = Eigen::VectorXd::Zero(model.nv);
    reference_twists = Eigen::VectorXd::Zero(6 * kMaxTasks);
    J_frame = Eigen::Matrix<double, 6, Eigen::Dynamic>::Zero(6, model.nv);
    Jt_stack = Eigen::MatrixXd::Zero(model.nv, 6 * kMaxTasks);
    JJt = Eigen::MatrixXd::Zero(6 * kMaxTasks, 6 * kMaxTasks);
    y = Eigen::VectorXd::Zero(6 * kMaxTasks);
    subtree_wrench = Eigen::Matrix<double, 6, Eigen::Dynamic>::Zero(6, model.njoints);
  }

  // g(q) from the joint placements and world-frame joint axes that computeJointJacobians() left in
  // `d` (d.oMi, d.J), without a second pass over the kinematic tree. RNEA at rest is a backward sum:
  // the base accelerating up at -gravity loads each body with the wrench m (-g) at its centre of mass
  // (world axes, about the world origin); a joint carries its subtree's wrenches, and its torque is
  // that wrench along its axis, tau_i = S_i^T F_subtree(i). Bodies come after their parents in
  // Pinocchio's joint order, so one reverse sweep accumulates every subtree.
  void gravity_from_placements(const pinocchio::Data& d, Eigen::VectorXd& g,
                               Eigen::Matrix<double, 6, Eigen::Dynamic>& wrench) const {
    const Eigen::Vector3d lift = -model.gravity.linear();
    wrench.setZero();
    for (pinocchio::JointIndex i = static_cast<pinocchio::JointIndex>(model.njoints) - 1; i >= 1; --i) {
      const pinocchio::Inertia& body = model.inertias[i];
      const Eigen::Vector3d force = body.mass() * lift;
      const Eigen::Vector3d com = d.oMi[i].act(body.lever());
      wrench.col(i).head<3>() += force;
      wrench.col(i).tail<3>() += com.cross(force);
      const int v = model.joints[i].idx_v();
      g[v] = d.J.col(v).dot(wrench.col(i));
      wrench.col(model.parents[i]) += wrench.col(i);
    }
  }

  Eigen::VectorXd model_q(const std::vector<double>& q_config) const {
    if (static_cast<int>(q_config.size()) != n)
      throw std::invalid_argument("q: expected " + std::to_string(n) + " joint positions");
    Eigen::VectorXd out = pinocchio::neutral(model);
    for (int j = 0; j < n; ++j) out[q_index[j]] = q_config[j];
    return out;
  }
};

WholeBodyImpedance::WholeBodyImpedance(const std::string& urdf_path, const std::vector<std::string>& joint_names,
                                       const std::vector<std::string>& task_frames)
    : impl_(std::make_unique<Impl>(urdf_path, joint_names, task_frames)) {}

WholeBodyImpedance::~WholeBodyImpedance() = default;

int WholeBodyImpedance::n_joints() const { return impl_->n; }
const std::vector<std::string>& WholeBodyImpedance::task_frames() const { return impl_->task_frames; }
double WholeBodyImpedance::total_mass() const {
  double mass = 0.0;
  for (const auto& inertia : impl_->model.inertias) mass += inertia.mass();
  return mass;
}

void WholeBodyImpedance::compute(double t, const JointVector& q, const JointVector& dq,
                                 const JointVector& tau_posture, const JointVector& kd_posture, const TaskSet& tasks,
                                 double scale, JointVector& tau_out,
                                 std::array<TaskStatus, kMaxTasks>& status) {
  Impl& m = *impl_;
  bool any_task = false;
  for (std::size_t i = 0; i < m.frame_ids.size(); ++i) any_task = any_task || tasks.tasks[i].enabled;
  if (!any_task && !tasks.gravity_compensation) {
    // No model term acts: the joint law passes through (its damping is not moved anywhere).
    for (std::size_t i = 0; i < m.frame_ids.size(); ++i) {
      m.motion[i].disable();
      status[i].enabled = false;
    }
    for (int j = 0; j < m.n; ++j) tau_out[j] = tau_posture[j];
    return;
  }
  for (int j = 0; j < m.n; ++j) {
    m.q[m.q_index[j]] = q[j];
    m.dq[m.v_index[j]] = dq[j];
    m.tau_posture[m.v_index[j]] = tau_posture[j] + kd_posture[j] * dq[j];  // damping added back below, unprojected
    m.kd[m.v_index[j]] = kd_posture[j];
  }
  m.damping.array() = -m.kd.array() * m.dq.array();  // with tasks: relative to their reference motion (below)
  // One pass over the tree: placements and world-frame joint axes; gravity and the task Jacobians both use them.
  pinocchio::computeJointJacobians(m.model, m.data, m.q);
  if (tasks.gravity_compensation)
    m.gravity_from_placements(m.data, m.tau, m.subtree_wrench);
  else
    m.tau.setZero();

  int rows = 0;
  for (std::size_t i = 0; i < m.frame_ids.size(); ++i) {
    const CartesianTask& task = tasks.tasks[i];
    TaskReferenceMotion& motion = m.motion[i];
    status[i].enabled = task.enabled;
    if (!task.enabled) {
      motion.disable();
      continue;
    }
    // Only this task's frame (a URDF has dozens of frames; updateFramePlacements would place them all).
    const pinocchio::SE3& pose = pinocchio::updateFramePlacement(m.model, m.data, m.frame_ids[i]);
    m.J_frame.setZero();
    pinocchio::getFrameJacobian(m.model, m.data, m.frame_ids[i], pinocchio::LOCAL_WORLD_ALIGNED, m.J_frame);

    motion.update(t, task, pose.translation(), pose.rotation());  // task_reference.hpp: the time law
    const TaskReferenceMotion::Sample reference = motion.sample(t);
    const Eigen::Vector3d& target_position = reference.position;
    const Eigen::Matrix<double, 6, 1>& reference_twist = reference.twist;  // world axes
    const Eigen::Vector3d position_error = target_position - pose.translation();
    const Eigen::Vector3d orientation_error =
        pinocchio::log3(Eigen::Matrix3d(reference.rotation.toRotationMatrix() * pose.rotation().transpose()));
    Eigen::Matrix<double, 6, 1> twist;
    twist.noalias() = m.J_frame * m.dq;
    Eigen::Matrix<double, 6, 1> wrench;
    for (int k = 0; k < 3; ++k) {
      wrench[k] = task.stiffness[k] * position_error[k] + task.damping[k] * (reference_twist[k] - twist[k]);
      wrench[3 + k] = task.stiffness[3 + k] * orientation_error[k] +
                      task.damping[3 + k] * (reference_twist[3 + k] - twist[3 + k]);
      status[i].position_error[k] = position_error[k];
      status[i].orientation_error[k] = orientation_error[k];
      status[i].reference_position[k] = target_position[k];
    }
    m.tau.noalias() += m.J_frame.transpose() * wrench;
    m.Jt_stack.middleCols(rows, 6) = m.J_frame.transpose();
    m.row_task[rows / 6] = static_cast<int>(i);
    m.reference_twists.segment<6>(rows) = reference_twist;
    rows += 6;
  }

  m.tau *= scale;
  if (rows == 0) {
    m.tau += m.tau_posture;
  } else {
    // N^T tau_p = tau_p - J^T (J J^T + lambda^2 I)^-1 J tau_p, on the top `rows` block of preallocated buffers.
    // J J^T and J tau_p from dot products of J's rows (contiguous columns of Jt), over only the columns
    // where both rows can be nonzero (see shared_columns): 6k x 6k with k <= 8 tasks, where a general
    // matrix product's packing, or dots over every joint, would cost more than the arithmetic.
    auto Jt = m.Jt_stack.leftCols(rows);
    auto JJt = m.JJt.topLeftCorner(rows, rows);
    const int n_tasks = static_cast<int>(m.frame_ids.size());
    const double* jt = m.Jt_stack.data();
    const std::ptrdiff_t stride = m.Jt_stack.rows();
    auto y = m.y.head(rows);
    for (int r = 0; r < rows; ++r) {
      const double* row_r = jt + r * stride;
      const int task_r = m.row_task[r / 6];
      for (int c = 0; c <= r; ++c) {
        const double* row_c = jt + c * stride;
        double sum = 0.0;
        for (const int k : m.shared_columns[task_r * n_tasks + m.row_task[c / 6]]) sum += row_r[k] * row_c[k];
        JJt(r, c) = JJt(c, r) = sum;
      }
      double projected = 0.0;
      for (const int k : m.task_columns[task_r]) projected += row_r[k] * m.tau_posture[k];
      y[r] = projected;
    }
    JJt.diagonal().array() += kNullspaceDamping * kNullspaceDamping;
    // In-place Cholesky on the block (no allocation): solve JJt z = y, z stored in y.
    Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>> llt(JJt);
    llt.solveInPlace(y);
    m.tau += m.tau_posture;
    m.tau.noalias() -= Jt * y;
    // The joint velocity that realises the tasks' reference twists (min-norm): the unprojected
    // damping acts on the deviation from it, so it does not drag a task along its own path.
    auto z = m.reference_twists.head(rows);
    llt.solveInPlace(z);
    m.dq_task.noalias() = Jt * z;
    m.damping.array() = -m.kd.array() * (m.dq.array() - m.dq_task.array());
  }
  m.tau += m.damping;
  for (int j = 0; j < m.n; ++j) tau_out[j] = m.tau[m.v_index[j]];
}

std::vector<double> WholeBodyImpedance::gravity(const std::vector<double>& q) const {
  std::lock_guard<std::mutex> lock(impl_->analysis_mutex);
  // The same computation as the loop's (tests compare it with Pinocchio's computeGeneralizedGravity).
  pinocchio::computeJointJacobians(impl_->model, impl_->analysis_data, impl_->model_q(q));
  Eigen::VectorXd g = Eigen::VectorXd::Zero(impl_->model.nv);
  Eigen::Matrix<double, 6, Eigen::Dynamic> wrench(6, impl_->model.njoints);
  impl_->gravity_from_placements(impl_->analysis_data, g, wrench);
  std::vector<double> out(impl_->n);
  for (int j = 0; j < impl_->n; ++j) out[j] = g[impl_->v_index[j]];
  return out;
}

std::array<double, 16> WholeBodyImpedance::frame_pose(const std::vector<double>& q, const std::string& frame) const {
  std::lock_guard<std::mutex> lock(impl_->analysis_mutex);
  if (!impl_->model.existFrame(frame)) throw std::invalid_argument("frame: '" + frame + "' is not a frame of the model");
  const auto id = impl_->model.getFrameId(frame);
  pinocchio::framesForwardKinematics(impl_->model, impl_->analysis_data, impl_->model_q(q));
  const Eigen::Matrix4d T = impl_->analysis_data.oMf[id].toHomogeneousMatrix();
  std::array<double, 16> out{};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) out[r * 4 + c] = T(r, c);
  return out;
}

bool WholeBodyImpedance::task_frame_pose(const JointVector& q, int slot, std::array<double, 3>& position,
                                         std::array<double, 4>& quaternion) const {
  Impl& m = *impl_;
  if (slot < 0 || slot >= static_cast<int>(m.frame_ids.size())) return false;
  std::lock_guard<std::mutex> lock(m.gate_mutex);
  for (int j = 0; j < m.n; ++j) m.gate_q[m.q_index[j]] = q[j];
  const pinocchio::FrameIndex id = m.frame_ids[slot];
  pinocchio::forwardKinematics(m.model, m.gate_data, m.gate_q);
  const pinocchio::SE3& pose = pinocchio::updateFramePlacement(m.model, m.gate_data, id);
  const Eigen::Quaterniond r(pose.rotation());
  for (int k = 0; k < 3; ++k) position[k] = pose.translation()[k];
  quaternion = {r.w(), r.x(), r.y(), r.z()};
  return true;
}

std::vector<double> WholeBodyImpedance::frame_jacobian(const std::vector<double>& q, const std::string& frame) const {
  std::lock_guard<std::mutex> lock(impl_->analysis_mutex);
  if (!impl_->model.existFrame(frame)) throw std::invalid_argument("frame: '" + frame + "' is not a frame of the model");
  const auto id = impl_->model.getFrameId(frame);
  Eigen::MatrixXd J = Eigen::MatrixXd::Zero(6, impl_->model.nv);
  pinocchio::computeFrameJacobian(impl_->model, impl_->analysis_data, impl_->model_q(q), id,
                                  pinocchio::LOCAL_WORLD_ALIGNED, J);
  std::vector<double> out(6 * impl_->n);
  for (int r = 0; r < 6; ++r)
    for (int j = 0; j < impl_->n; ++j) out[r * impl_->n + j] = J(r, impl_->v_index[j]);
  return out;
}

}  // namespace humanoid_rt
