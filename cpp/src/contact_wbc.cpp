// The contact QP whole-body controller (contact_wbc.hpp has the formulation).
#include "humanoid_rt/contact_wbc.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <stdexcept>

#include <Eigen/Dense>
#include <eiquadprog/eiquadprog-fast.hpp>
#include <pinocchio/algorithm/center-of-mass.hpp>
#include <pinocchio/algorithm/crba.hpp>
#include <pinocchio/algorithm/frames.hpp>
#include <pinocchio/algorithm/jacobian.hpp>
#include <pinocchio/algorithm/kinematics.hpp>
#include <pinocchio/algorithm/rnea.hpp>
#include <pinocchio/multibody/data.hpp>
#include <pinocchio/multibody/model.hpp>
#include <pinocchio/spatial/explog.hpp>
#include <proxsuite/proxqp/dense/dense.hpp>

#include "task_reference.hpp"
#include "urdf_model.hpp"

namespace humanoid_rt {

namespace {
constexpr int kRowsPerFoot = 11;  // 1 unilateral + 4 friction + 4 CoP + 2 yaw torque
// A solution may violate a row by solver tolerance; more than this is a failed solve.
constexpr double kResidualTolerance = 1e-3;
constexpr double kUnbounded = 1e20;  // proxsuite's "no upper bound"
// Damping of the legs' least squares in the base target's posture shift (a straight knee is singular).
constexpr double kLegDamping = 1e-4;

// R = Rz(yaw) Ry(pitch) Rx(roll), the URDF rpy convention.
Eigen::Matrix3d rpy_rotation(double roll, double pitch, double yaw) {
  return (Eigen::AngleAxisd(yaw, Eigen::Vector3d::UnitZ()) * Eigen::AngleAxisd(pitch, Eigen::Vector3d::UnitY()) *
          Eigen::AngleAxisd(roll, Eigen::Vector3d::UnitX()))
      .toRotationMatrix();
}

// A reference moving from goal to goal: from standstill along the cubic s^2 (3 - 2 s), rest to rest; a goal
// arriving mid-path is approached at constant speed (a stream of goals - a skill's CoM heights, a teleop
// pelvis target - then reads as one motion with a continuous speed instead of stopping at every goal).
// value(), velocity() and acceleration() are the path's and its time derivatives (the CoM task feeds the
// latter two forward). Loop thread only.
template <int N>
struct GoalPath {
  using Vector = Eigen::Matrix<double, N, 1>;
  Vector from = Vector::Zero(), to = Vector::Zero();
  double t0 = 0.0, t1 = 0.0;
  bool linear = false;

  void rest_at(const Vector& value) {
    from = to = value;
    t0 = t1 = 0.0;
    linear = false;
  }
  // Toward `goal` from where the path is at t; duration_for(|change| per axis, peak speed / mean speed) is
  // the path's duration (the cubic's peak speed is 1.5 x its mean, the constant speed's 1 x).
  template <typename DurationFor>
  void retarget(double t, const Vector& goal, DurationFor duration_for) {
    const bool mid_path = t < t1;
    from = value(t);
    to = goal;
    linear = mid_path;
    t0 = t;
    t1 = t + duration_for(Vector((to - from).cwiseAbs()), linear ? 1.0 : 1.5);
  }
  Vector value(double t) const {
    const double s = phase(t);
    return from + (linear ? s : s * s * (3.0 - 2.0 * s)) * (to - from);
  }
  Vector velocity(double t) const {
    if (!moving(t)) return Vector::Zero();
    const double s = phase(t);
    return (linear ? 1.0 : 6.0 * s * (1.0 - s)) / (t1 - t0) * (to - from);
  }
  Vector acceleration(double t) const {
    if (linear || !moving(t)) return Vector::Zero();
    const double T = t1 - t0;
    return 6.0 * (1.0 - 2.0 * phase(t)) / (T * T) * (to - from);
  }

 private:
  bool moving(double t) const { return t < t1 && t1 > t0; }
  double phase(double t) const { return moving(t) ? std::clamp((t - t0) / (t1 - t0), 0.0, 1.0) : 1.0; }  // s
};

void store_max(std::atomic<double>& target, double value) {
  if (value > target.load(std::memory_order_relaxed)) target.store(value, std::memory_order_relaxed);
}
void store_min(std::atomic<double>& target, double value) {
  if (value < target.load(std::memory_order_relaxed)) target.store(value, std::memory_order_relaxed);
}
}  // namespace

struct ContactWbc::Impl {
  // Immutable after construction.
  pinocchio::Model model;
  ContactWbcOptions options;
  double period_s = 0.001;
  int n = 0, nv = 0, nc = 0, nx = 0, neq = 0, nin = 0;
  std::vector<int> q_index, v_index;  // config joint -> model configuration / velocity index
  std::vector<pinocchio::FrameIndex> sole_ids, task_ids;
  std::vector<std::array<double, 2>> sole_size;
  std::vector<std::vector<int>> leg_columns;  // per foot: velocity indices of the joints between base and sole
  std::vector<std::vector<int>> leg_q_index;  // the same joints' configuration indices
  Eigen::VectorXd tau_max;            // per config joint

  // Loop thread only (sized here, never resized).
  pinocchio::Data data;
  Eigen::VectorXd q, v, a0, x, g, ce0, ci0, tau, proxsuite_b, proxsuite_l, proxsuite_u, residual_eq, residual_in;
  Eigen::MatrixXd H, CE, CI;
  std::vector<Eigen::Matrix<double, 6, Eigen::Dynamic>> sole_jacobian;  // per foot, 6 x nv
  Eigen::Matrix<double, 6, Eigen::Dynamic> task_jacobian;
  // The base target's leg posture (header): a second Pinocchio workspace with the base at the origin, the
  // configuration at the loop's reference (q_pose_ref) and the Newton iterate of the displaced base (q_pose).
  pinocchio::Data pose_data;
  Eigen::VectorXd q_pose_ref, q_pose;
  Eigen::Matrix<double, 6, Eigen::Dynamic> leg_jacobian;  // a sole's LOCAL Jacobian, leg-chain columns only
  std::vector<pinocchio::SE3> sole_goal;                  // per foot: the sole in the displaced base's frame
  bool pose_started = false;                              // q_pose holds an iterate
  std::vector<Eigen::Matrix<double, 6, 1>> sole_drift;
  std::vector<Eigen::Matrix3d> sole_rotation;
  std::vector<Eigen::Vector3d> sole_position;
  eiquadprog::solvers::EiquadprogFast eiquadprog;
  std::optional<proxsuite::proxqp::dense::QP<double>> proxsuite;

  bool anchored = false;
  bool filter_started = false;
  Eigen::Quaterniond filtered_rotation = Eigen::Quaterniond::Identity();
  Eigen::Vector3d com_anchor = Eigen::Vector3d::Zero(), stance_position = Eigen::Vector3d::Zero();
  Eigen::Matrix3d stance_rotation = Eigen::Matrix3d::Identity();  // yaw only: the levelled base at reset
  GoalPath<3> com_offset;             // the CoM reference's offset from the anchor
  StandingReference reference{};      // latest received copy
  // Base target path (h, roll, pitch, yaw).
  BaseTarget base_target{};           // latest received copy
  std::uint64_t base_target_applied = 0;
  GoalPath<4> base_path;
  std::uint64_t reference_applied = 0;
  JointVector tau_good{};             // the last solved torque, for the fallback
  bool have_good = false;
  double fallback_weight = 0.0;       // weight of tau_good in the fallback torque

  // The hand tasks' reference motion in the stance frame: the fixed-base controller's time law.
  std::array<TaskReferenceMotion, kMaxTasks> motion{};

  // Posture (immutable after construction): which config joints carry a sole (the legs) and which lie
  // on each task frame's chain; the others ("free" joints: arms, waist, head) take the loop's joint
  // impedance as their posture law.
  std::array<bool, kMaxJoints> supports_sole{};
  std::array<std::array<bool, kMaxJoints>, kMaxTasks> on_task_chain{};
  // Loop thread only: the joint reference's rate of the previous cycle, for its acceleration.
  JointVector dq_ref_previous{};
  double t_previous = 0.0;            // the loop time of that cycle: a late cycle's difference spans more
  bool have_dq_ref_previous = false;

  // Non-RT copy of the last QP (last_qp()).
  Impl(const std::string& urdf_path, const std::vector<std::string>& joint_names,
       const std::vector<std::string>& task_frames, const std::vector<ContactSole>& soles,
       const std::vector<double>& torque_limits, double period, const ContactWbcOptions& opts)
      : options(opts), period_s(period) {
    model = load_urdf_model(urdf_path, ModelRoot::kFreeFlyer);
    ConfigJointIndices indices = index_config_joints(model, joint_names, urdf_path);
    n = static_cast<int>(joint_names.size());
    q_index = std::move(indices.q);
    v_index = std::move(indices.v);
    if (static_cast<int>(torque_limits.size()) != n)
      throw std::invalid_argument("limits.torque: expected one torque limit per joint");
    if (soles.empty() || static_cast<int>(soles.size()) > kMaxContacts)
      throw std::invalid_argument("model.contacts: 1.." + std::to_string(kMaxContacts) + " feet needed for standing");
    for (std::size_t i = 0; i < soles.size(); ++i) {
      const std::string field = "model.contacts[" + std::to_string(i) + "]";
      if (!model.existFrame(soles[i].frame))
        throw std::invalid_argument(field + ".frame: '" + soles[i].frame + "' is not a frame of the URDF");
      if (!(soles[i].size[0] > 2 * options.sole_margin_m && soles[i].size[1] > 2 * options.sole_margin_m))
        throw std::invalid_argument(field + ".sole: must be larger than twice the sole margin on each side");
      const pinocchio::Frame& foot = model.frames[model.getFrameId(soles[i].frame)];
      const pinocchio::SE3 sole_in_foot(Eigen::Matrix3d::Identity(),
                                        Eigen::Vector3d(soles[i].offset[0], soles[i].offset[1], soles[i].offset[2]));
      sole_ids.push_back(model.addFrame(pinocchio::Frame("humanoid_rt_sole_" + std::to_string(i), foot.parentJoint,
                                                         model.getFrameId(soles[i].frame), foot.placement * sole_in_foot,
                                                         pinocchio::OP_FRAME)));
      sole_size.push_back(soles[i].size);
      std::vector<int> chain, chain_q;  // joints on the path root -> foot: the leg (the root is the base)
      for (const auto joint : model.supports[foot.parentJoint])
        if (joint > 1 && model.joints[joint].nv() == 1) {
          chain.push_back(model.joints[joint].idx_v());
          chain_q.push_back(model.joints[joint].idx_q());
        }
      leg_columns.push_back(chain);
      leg_q_index.push_back(chain_q);
    }
    if (static_cast<int>(task_frames.size()) > kMaxTasks)
      throw std::invalid_argument("model.tasks: at most " + std::to_string(kMaxTasks) + " task frames");
    for (const auto& frame : task_frames) {
      if (!model.existFrame(frame)) throw std::invalid_argument("model.tasks: '" + frame + "' is not a frame of the URDF");
      task_ids.push_back(model.getFrameId(frame));
    }
    // model.supports[i]: the joints from the root to joint i (a joint moves every frame below it).
    auto mark_chain = [&](pinocchio::FrameIndex frame, std::array<bool, kMaxJoints>& mask) {
      for (const pinocchio::JointIndex id : model.supports[model.frames[frame].parentJoint])
        for (int j = 0; j < n; ++j)
          if (model.joints[id].idx_v() == v_index[j]) mask[j] = true;
    };
    for (const auto sole : sole_ids) mark_chain(sole, supports_sole);
    for (std::size_t k = 0; k < task_ids.size(); ++k) mark_chain(task_ids[k], on_task_chain[k]);
    tau_max = Eigen::VectorXd::Zero(n);
    for (int j = 0; j < n; ++j) {
      if (!(torque_limits[j] > 0 && std::isfinite(torque_limits[j])))
        throw std::invalid_argument("limits.torque: must be finite and > 0 for every joint");
      tau_max[j] = torque_limits[j];
    }
    if (!(options.friction > 0) || !(options.min_normal_force_n >= 0) || !(options.fallback_time_constant_s > 0))
      throw std::invalid_argument("model.standing: friction > 0, min_normal_force_n >= 0 and a fallback time constant > 0");

    nc = static_cast<int>(soles.size());
    nv = model.nv;
    nx = nv + 6 * nc;
    neq = 6 + 6 * nc;
    nin = kRowsPerFoot * nc + 2 * n;
    data = pinocchio::Data(model);
    q = pinocchio::neutral(model);
    v = a0 = Eigen::VectorXd::Zero(nv);
    x = g = Eigen::VectorXd::Zero(nx);
    ce0 = proxsuite_b = residual_eq = Eigen::VectorXd::Zero(neq);
    ci0 = proxsuite_l = residual_in = Eigen::VectorXd::Zero(nin);
    proxsuite_u = Eigen::VectorXd::Constant(nin, kUnbounded);
    tau = Eigen::VectorXd::Zero(nv);
    H = Eigen::MatrixXd::Zero(nx, nx);
    CE = Eigen::MatrixXd::Zero(neq, nx);
    CI = Eigen::MatrixXd::Zero(nin, nx);
    sole_jacobian.assign(nc, Eigen::Matrix<double, 6, Eigen::Dynamic>::Zero(6, nv));
    task_jacobian = Eigen::Matrix<double, 6, Eigen::Dynamic>::Zero(6, nv);
    leg_jacobian = Eigen::Matrix<double, 6, Eigen::Dynamic>::Zero(6, nv);
    pose_data = pinocchio::Data(model);
    q_pose_ref = q_pose = pinocchio::neutral(model);  // base at the origin, identity orientation
    sole_goal.assign(nc, pinocchio::SE3::Identity());
    sole_drift.assign(nc, Eigen::Matrix<double, 6, 1>::Zero());
    sole_rotation.assign(nc, Eigen::Matrix3d::Identity());
    sole_position.assign(nc, Eigen::Vector3d::Zero());
    eiquadprog.reset(nx, neq, nin);
    if (options.solver == QpSolver::kProxsuite) {
      proxsuite.emplace(nx, neq, nin);
      proxsuite->settings.initial_guess = proxsuite::proxqp::InitialGuessStatus::WARM_START_WITH_PREVIOUS_RESULT;
      proxsuite->settings.eps_abs = 1e-6;
      proxsuite->settings.max_iter = 200;
      proxsuite->init(H + Eigen::MatrixXd::Identity(nx, nx), g, CE, proxsuite_b, CI, proxsuite_l, proxsuite_u);
    }
  }

  // Sole corners' support polygon (convex hull, x-y) and the signed distance of p to its edges (> 0 inside).
  double support_margin(const Eigen::Vector2d& p, const BaseState& base) const {
    std::array<Eigen::Vector2d, 4 * kMaxContacts> points;
    int count = 0;
    for (int i = 0; i < nc; ++i) {
      if (!base.contact[i]) continue;
      for (const double sx : {-0.5, 0.5})
        for (const double sy : {-0.5, 0.5}) {
          const Eigen::Vector3d corner =
              sole_position[i] + sole_rotation[i] * Eigen::Vector3d(sx * sole_size[i][0], sy * sole_size[i][1], 0.0);
          points[count++] = corner.head<2>();
        }
    }
    if (count < 3) return std::numeric_limits<double>::quiet_NaN();  // no foot on the ground: no polygon
    std::sort(points.begin(), points.begin() + count, [](const Eigen::Vector2d& a, const Eigen::Vector2d& b) {
      return a.x() < b.x() || (a.x() == b.x() && a.y() < b.y());
    });
    auto cross = [](const Eigen::Vector2d& o, const Eigen::Vector2d& a, const Eigen::Vector2d& b) {
      return (a.x() - o.x()) * (b.y() - o.y()) - (a.y() - o.y()) * (b.x() - o.x());
    };
    std::array<Eigen::Vector2d, 8 * kMaxContacts> hull;  // Andrew's monotone chain, counter-clockwise
    int k = 0;
    for (int i = 0; i < count; ++i) {
      while (k >= 2 && cross(hull[k - 2], hull[k - 1], points[i]) <= 0) --k;
      hull[k++] = points[i];
    }
    for (int i = count - 2, lower = k + 1; i >= 0; --i) {
      while (k >= lower && cross(hull[k - 2], hull[k - 1], points[i]) <= 0) --k;
      hull[k++] = points[i];
    }
    double margin = std::numeric_limits<double>::infinity();
    for (int i = 0; i + 1 < k; ++i) {
      const Eigen::Vector2d edge = hull[i + 1] - hull[i];
      const double length = edge.norm();
      if (length < 1e-9) continue;
      margin = std::min(margin, cross(hull[i], hull[i + 1], p) / length);
    }
    return margin;
  }
};

ContactWbc::ContactWbc(const std::string& urdf_path, const std::vector<std::string>& joint_names,
                       const std::vector<std::string>& task_frames, const std::vector<ContactSole>& soles,
                       const std::vector<double>& torque_limits, double period_s, const ContactWbcOptions& options)
    : impl_(std::make_unique<Impl>(urdf_path, joint_names, task_frames, soles, torque_limits, period_s, options)) {}

ContactWbc::~ContactWbc() = default;

int ContactWbc::n_joints() const { return impl_->n; }
int ContactWbc::n_contacts() const { return impl_->nc; }
int ContactWbc::n_variables() const { return impl_->nx; }
int ContactWbc::n_equalities() const { return impl_->neq; }
int ContactWbc::n_inequalities() const { return impl_->nin; }
const ContactWbcOptions& ContactWbc::options() const { return impl_->options; }

void ContactWbc::set_reference(std::array<double, 3> com_offset, double duration) {
  for (const double value : com_offset)
    if (!std::isfinite(value) || std::abs(value) > 1.0)
      throw std::invalid_argument("com_offset: three finite numbers within +-1 m");
  if (!std::isfinite(duration) || duration < 0) throw std::invalid_argument("duration: a finite number >= 0 [s]");
  std::lock_guard<std::mutex> lock(reference_mutex_);
  StandingReference reference;
  reference.sequence = ++reference_sequence_;
  reference.com_offset = com_offset;
  reference.duration = duration;
  reference_buffer_.write(reference);
}

void ContactWbc::set_base_target(double height_offset, std::array<double, 3> rpy, double duration) {
  const ContactWbcOptions& o = impl_->options;
  char message[200];
  if (!(std::isfinite(height_offset) && height_offset >= -o.base_height_down_m && height_offset <= o.base_height_up_m)) {
    std::snprintf(message, sizeof message,
                  "height_offset_m: %g; allowed: %g..%g m (model.standing.base_target.max_height_down_m / "
                  "max_height_up_m)", height_offset, -o.base_height_down_m, o.base_height_up_m);
    throw std::invalid_argument(message);
  }
  const double limits[3] = {o.base_max_roll_rad, o.base_max_pitch_rad, o.base_max_yaw_rad};
  const char* names[3] = {"roll", "pitch", "yaw"};
  for (int k = 0; k < 3; ++k)
    if (!(std::isfinite(rpy[k]) && std::abs(rpy[k]) <= limits[k])) {
      std::snprintf(message, sizeof message, "rpy[%d] (%s): %g; allowed: -%g..%g rad (model.standing.base_target.max_%s_rad)",
                    k, names[k], rpy[k], limits[k], limits[k], names[k]);
      throw std::invalid_argument(message);
    }
  if (!std::isfinite(duration) || duration < 0) throw std::invalid_argument("duration: a finite number >= 0 [s]");
  std::lock_guard<std::mutex> lock(reference_mutex_);
  BaseTarget target;
  target.sequence = ++base_target_sequence_;
  target.height_offset = height_offset;
  target.rpy = rpy;
  target.duration = duration;
  base_target_buffer_.write(target);
}

bool ContactWbc::clamp_base_target(double& height_offset, std::array<double, 3>& rpy) const {
  const ContactWbcOptions& o = impl_->options;
  auto clip = [](double& value, double low, double high) {
    const double clipped = std::isfinite(value) ? std::clamp(value, low, high) : 0.0;
    const bool changed = !(clipped == value);
    value = clipped;
    return changed;
  };
  bool changed = clip(height_offset, -o.base_height_down_m, o.base_height_up_m);
  changed = clip(rpy[0], -o.base_max_roll_rad, o.base_max_roll_rad) || changed;
  changed = clip(rpy[1], -o.base_max_pitch_rad, o.base_max_pitch_rad) || changed;
  changed = clip(rpy[2], -o.base_max_yaw_rad, o.base_max_yaw_rad) || changed;
  return changed;
}

void ContactWbc::reset() {
  Impl& m = *impl_;
  // A base target written before this re-anchor is stale: consume it unapplied; the path restarts at zero.
  base_target_buffer_.read_if_new(m.base_target);
  m.base_target_applied = m.base_target.sequence;
  m.base_path.rest_at(Eigen::Vector4d::Zero());
  m.anchored = false;
  m.filter_started = false;
  m.have_good = false;
  m.fallback_weight = 0.0;
  for (auto& task : m.motion) task.disable();
  m.have_dq_ref_previous = false;
  consecutive_failures_.store(0, std::memory_order_relaxed);
}

bool ContactWbc::compute(double t, const JointVector& q_joint, const JointVector& dq_joint, const JointVector& q_ref,
                         const JointVector& dq_ref, const BaseState& base, const TaskSet& tasks,
                         const JointVector& tau_joint, double ramp, JointVector& tau_out,
                         std::array<TaskStatus, kMaxTasks>& task_status) {
  Impl& m = *impl_;
  if (!base.valid) return false;
  const ContactWbcOptions& o = m.options;

  // State: base from the estimator, joints from the measurements.
  Eigen::Quaterniond base_rotation(base.orientation[0], base.orientation[1], base.orientation[2], base.orientation[3]);
  bool finite = std::isfinite(base_rotation.norm()) && base_rotation.norm() > 0.5;
  base_rotation.normalize();
  if (finite) {
    // Low-pass on the IMU's orientation: its noise would otherwise shake the body through the orientation
    // and CoM feedback (2 mrad at a 1 m lever is 0.2 m/s^2 of commanded CoM acceleration at com_kp 100).
    if (m.filter_started && o.orientation_filter_s > 0.0)
      base_rotation = m.filtered_rotation.slerp(m.period_s / (o.orientation_filter_s + m.period_s), base_rotation);
    m.filtered_rotation = base_rotation;
    m.filter_started = true;
  }
  const Eigen::Matrix3d R = base_rotation.toRotationMatrix();
  for (int k = 0; k < 3; ++k) m.q[k] = base.position[k];
  m.q[3] = base_rotation.x(), m.q[4] = base_rotation.y(), m.q[5] = base_rotation.z(), m.q[6] = base_rotation.w();
  m.v.head<3>() = R.transpose() * Eigen::Vector3d(base.velocity[0], base.velocity[1], base.velocity[2]);
  m.v.segment<3>(3) = Eigen::Vector3d(base.angular_velocity[0], base.angular_velocity[1], base.angular_velocity[2]);
  for (int j = 0; j < m.n; ++j) {
    m.q[m.q_index[j]] = q_joint[j];
    m.v[m.v_index[j]] = dq_joint[j];
  }
  finite = finite && m.q.allFinite() && m.v.allFinite();

  bool solved = false;
  int iterations = 0;
  StandingStatus& status = status_buffer_.back();
  status.cycle = status.cycle + 1;
  if (finite) {
    // Mass matrix (WORLD convention also leaves the joint placements and Jacobians and the centroidal
    // map), CoM Jacobian, the soles' Jacobians.
    pinocchio::crba(m.model, m.data, m.q, pinocchio::Convention::WORLD);
    m.data.M.triangularView<Eigen::StrictlyLower>() = m.data.M.transpose().triangularView<Eigen::StrictlyLower>();
    pinocchio::getJacobianComFromCrba(m.model, m.data);
    for (int i = 0; i < m.nc; ++i) {
      m.sole_jacobian[i].setZero();
      pinocchio::getFrameJacobian(m.model, m.data, m.sole_ids[i], pinocchio::LOCAL_WORLD_ALIGNED, m.sole_jacobian[i]);
    }
    // Base twist: with a foot on the ground, the one that keeps the feet in contact still (least squares,
    // from the joint velocities: encoders only); the estimator's twist is the fallback without contact.
    // Its Kalman velocity carries the IMU's biases (a gyro bias reads as ~bias x leg length of base
    // velocity), which the CoM and orientation damping would otherwise act on.
    {
      Eigen::Matrix<double, 6, 6> normal = Eigen::Matrix<double, 6, 6>::Zero();
      Eigen::Matrix<double, 6, 1> rhs = Eigen::Matrix<double, 6, 1>::Zero();
      bool any_contact = false;
      for (int i = 0; i < m.nc; ++i) {
        if (!base.contact[i]) continue;
        any_contact = true;
        const auto J_base = m.sole_jacobian[i].leftCols<6>();
        Eigen::Matrix<double, 6, 1> joint_motion;
        joint_motion.noalias() = m.sole_jacobian[i].rightCols(m.nv - 6) * m.v.tail(m.nv - 6);
        normal.noalias() += J_base.transpose() * J_base;
        rhs.noalias() -= J_base.transpose() * joint_motion;
      }
      if (any_contact) m.v.head<6>() = normal.ldlt().solve(rhs);
    }
    const Eigen::MatrixXd& M = m.data.M;

    // Kinematics with zero acceleration: placements, velocities and the drift accelerations Jdot v.
    pinocchio::forwardKinematics(m.model, m.data, m.q, m.v, m.a0);
    pinocchio::centerOfMass(m.model, m.data, pinocchio::ACCELERATION, false);
    const Eigen::Vector3d com = m.data.com[0], com_velocity = m.data.vcom[0], com_drift = m.data.acom[0];
    for (int i = 0; i < m.nc; ++i) {
      const pinocchio::SE3& pose = pinocchio::updateFramePlacement(m.model, m.data, m.sole_ids[i]);
      m.sole_rotation[i] = pose.rotation();
      m.sole_position[i] = pose.translation();
      m.sole_drift[i] =
          pinocchio::getFrameClassicalAcceleration(m.model, m.data, m.sole_ids[i], pinocchio::LOCAL_WORLD_ALIGNED)
              .toVector();
    }
    if (!m.anchored) {
      // Where the robot stands now: its CoM (nothing moves at enable) and the levelled base.
      m.com_anchor = com;
      const double yaw = std::atan2(R(1, 0), R(0, 0));
      m.stance_rotation = Eigen::AngleAxisd(yaw, Eigen::Vector3d::UnitZ()).toRotationMatrix();
      m.stance_position = m.q.head<3>();
      m.com_offset.rest_at(Eigen::Vector3d::Zero());
      m.anchored = true;
      m.reference_applied = 0;  // the path restarts from the anchor toward the latest offset
    }
    reference_buffer_.read_if_new(m.reference);
    if (m.reference.sequence != m.reference_applied) {
      const Eigen::Vector3d goal(m.reference.com_offset[0], m.reference.com_offset[1], m.reference.com_offset[2]);
      m.com_offset.retarget(t, goal, [&](const Eigen::Vector3d& change, double peak) {
        return std::max(m.reference.duration, peak * change.norm() / o.reference_speed_limit);
      });
      m.reference_applied = m.reference.sequence;
    }
    Eigen::Vector3d com_reference = m.com_anchor + m.com_offset.value(t);
    const Eigen::Vector3d com_reference_velocity = m.com_offset.velocity(t);
    const Eigen::Vector3d com_reference_acceleration = m.com_offset.acceleration(t);

    // Base target: its path, then the orientation reference, the legs' posture for the displaced base and the
    // CoM height it implies (header); nothing is computed while the path is at zero (standing as without one).
    // The legs' iterate is not clipped to the joints' ranges: the posture is a cost, and the loop's limits act.
    if (base_target_buffer_.read_if_new(m.base_target) && m.base_target.sequence != m.base_target_applied) {
      const Eigen::Vector4d goal(m.base_target.height_offset, m.base_target.rpy[0], m.base_target.rpy[1],
                                 m.base_target.rpy[2]);
      if (goal != m.base_path.to) {  // a stream repeating its goal (teleop) does not restart the path
        // The duration keeps the path within the configured speeds.
        m.base_path.retarget(t, goal, [&](const Eigen::Vector4d& change, double peak) {
          return std::max({m.base_target.duration, peak * change[0] / o.base_height_speed_m_s,
                           peak * change.tail<3>().maxCoeff() / o.base_angular_speed_rad_s});
        });
      }
      m.base_target_applied = m.base_target.sequence;
    }
    const Eigen::Vector4d base_path = m.base_path.value(t);
    Eigen::Matrix3d orientation_reference = m.stance_rotation;
    const bool base_target_on = !base_path.isZero(0.0);
    if (base_target_on) {
      const Eigen::Matrix3d R_rpy = rpy_rotation(base_path[1], base_path[2], base_path[3]);
      orientation_reference = m.stance_rotation * R_rpy;
      // The leg posture of the displaced base, D = (R_rpy, (0, 0, h)) in the base frame of the reference posture:
      // every sole where it is at the reference, seen from the displaced base (D^-1 oMs), by one damped Newton
      // step per cycle from the last iterate (the path moves little per cycle).
      const pinocchio::SE3 displacement(R_rpy, Eigen::Vector3d(0.0, 0.0, base_path[0]));
      for (int j = 0; j < m.n; ++j) m.q_pose_ref[m.q_index[j]] = q_ref[j];
      const Eigen::Vector3d com_at_reference = pinocchio::centerOfMass(m.model, m.pose_data, m.q_pose_ref, false);
      for (int i = 0; i < m.nc; ++i)
        m.sole_goal[i] = displacement.actInv(pinocchio::updateFramePlacement(m.model, m.pose_data, m.sole_ids[i]));
      if (!m.pose_started) m.q_pose = m.q_pose_ref;
      m.pose_started = true;
      for (int j = 0; j < m.n; ++j)  // the non-leg joints follow the reference (their legs' iterate is kept)
        if (!m.supports_sole[j]) m.q_pose[m.q_index[j]] = q_ref[j];
      pinocchio::computeJointJacobians(m.model, m.pose_data, m.q_pose);  // placements and Jacobians at the iterate
      for (int i = 0; i < m.nc; ++i) {  // (the legs are separate chains: one leg's step leaves the others' valid)
        const pinocchio::SE3& sole = pinocchio::updateFramePlacement(m.model, m.pose_data, m.sole_ids[i]);
        m.leg_jacobian.setZero();
        pinocchio::getFrameJacobian(m.model, m.pose_data, m.sole_ids[i], pinocchio::LOCAL, m.leg_jacobian);
        const Eigen::Matrix<double, 6, 1> error = pinocchio::log6(sole.actInv(m.sole_goal[i])).toVector();
        for (int c = 0; c < m.nv; ++c) {
          bool in_leg = false;
          for (const int column : m.leg_columns[i]) in_leg = in_leg || column == c;
          if (!in_leg) m.leg_jacobian.col(c).setZero();
        }
        Eigen::Matrix<double, 6, 6> gram;
        gram.noalias() = m.leg_jacobian * m.leg_jacobian.transpose();
        gram.diagonal().array() += kLegDamping;
        const Eigen::Matrix<double, 6, 1> weights = gram.ldlt().solve(error);
        for (std::size_t k = 0; k < m.leg_columns[i].size(); ++k)
          m.q_pose[m.leg_q_index[i][k]] += m.leg_jacobian.col(m.leg_columns[i][k]).dot(weights);
      }
      // The CoM height this posture has under the displaced base, against the reference posture's.
      const Eigen::Vector3d com_displaced = displacement.act(
          Eigen::Vector3d(pinocchio::centerOfMass(m.model, m.pose_data, m.q_pose, false)));
      com_reference.z() += com_displaced.z() - com_at_reference.z();
    } else {
      m.pose_started = false;
    }
    for (int k = 0; k < 4; ++k) {
      status.base_reference[k] = base_path[k];
      status.base_goal[k] = m.base_path.to[k];
    }

    pinocchio::nonLinearEffects(m.model, m.data, m.q, m.v);
    const Eigen::VectorXd& h = m.data.nle;

    // ---- equalities CE x + ce0 = 0
    const int nv = m.nv;
    m.CE.setZero();
    m.CE.topLeftCorner(6, nv) = M.topRows(6);
    m.ce0.head<6>() = h.head<6>();
    for (int i = 0; i < m.nc; ++i) {
      const int column = nv + 6 * i, row = 6 + 6 * i;
      m.CE.block(0, column, 6, 6) = -m.sole_jacobian[i].leftCols<6>().transpose();
      if (base.contact[i]) {
        m.CE.block(row, 0, 6, nv) = m.sole_jacobian[i];
        m.ce0.segment<6>(row).noalias() = m.sole_drift[i] + o.contact_damping * (m.sole_jacobian[i] * m.v);
      } else {
        m.CE.block<6, 6>(row, column).setIdentity();
        m.ce0.segment<6>(row).setZero();
      }
    }

    // ---- inequalities CI x + ci0 >= 0
    m.CI.setZero();
    m.ci0.setZero();
    for (int i = 0; i < m.nc; ++i) {
      if (!base.contact[i]) continue;  // f_i = 0: the zero rows hold trivially
      const int c = nv + 6 * i, r = kRowsPerFoot * i;
      const Eigen::Matrix3d& Rs = m.sole_rotation[i];
      const Eigen::RowVector3d normal = Rs.col(2).transpose();
      const double half_length = 0.5 * m.sole_size[i][0] - o.sole_margin_m;
      const double half_width = 0.5 * m.sole_size[i][1] - o.sole_margin_m;
      const double yaw_arm = o.friction * 0.5 * std::min(m.sole_size[i][0], m.sole_size[i][1]);
      m.CI.block<1, 3>(r, c) = normal;
      m.ci0[r] = -o.min_normal_force_n;
      for (int axis = 0; axis < 2; ++axis)
        for (const double sign : {1.0, -1.0}) {
          const int row = r + 1 + 2 * axis + (sign > 0 ? 0 : 1);
          m.CI(row, c + 2) = o.friction;
          m.CI(row, c + axis) = -sign;
        }
      const std::array<std::pair<double, Eigen::RowVector3d>, 3> torque_bounds{
          std::pair<double, Eigen::RowVector3d>{half_length, Rs.col(1).transpose()},
          std::pair<double, Eigen::RowVector3d>{half_width, Rs.col(0).transpose()},
          std::pair<double, Eigen::RowVector3d>{yaw_arm, Rs.col(2).transpose()}};
      for (int b = 0; b < 3; ++b)
        for (const double sign : {1.0, -1.0}) {
          const int row = r + 5 + 2 * b + (sign > 0 ? 0 : 1);
          m.CI.block<1, 3>(row, c) = torque_bounds[b].first * normal;
          m.CI.block<1, 3>(row, c + 3) = -sign * torque_bounds[b].second;
        }
    }
    for (int j = 0; j < m.n; ++j) {
      const int vj = m.v_index[j], upper = kRowsPerFoot * m.nc + 2 * j, lower = upper + 1;
      m.CI.block(upper, 0, 1, nv) = -M.row(vj);
      m.CI.block(lower, 0, 1, nv) = M.row(vj);
      for (int i = 0; i < m.nc; ++i) {
        m.CI.block<1, 6>(upper, nv + 6 * i) = m.sole_jacobian[i].col(vj).transpose();
        m.CI.block<1, 6>(lower, nv + 6 * i) = -m.sole_jacobian[i].col(vj).transpose();
      }
      m.ci0[upper] = m.tau_max[j] - h[vj];
      m.ci0[lower] = m.tau_max[j] + h[vj];
    }

    // ---- cost
    m.H.setZero();
    m.g.setZero();
    auto H_qq = m.H.topLeftCorner(nv, nv);
    auto g_q = m.g.head(nv);
    {  // centre of mass
      const Eigen::Vector3d b = com_reference_acceleration + o.com_kp * (com_reference - com) +
                                o.com_kd * (com_reference_velocity - com_velocity) - com_drift;
      H_qq.noalias() += o.com_weight * m.data.Jcom.transpose() * m.data.Jcom;
      g_q.noalias() -= o.com_weight * m.data.Jcom.transpose() * b;
    }
    {  // base orientation: level (roll, pitch in world axes); yaw is left to the legs' posture, since an IMU's
       // yaw is unobservable from the legs and drifts (a yaw task would twist the robot on its feet)
      const Eigen::Vector3d error = pinocchio::log3(Eigen::Matrix3d(orientation_reference * R.transpose()));
      const Eigen::Vector3d omega_world = R * m.v.segment<3>(3);
      for (int k = 0; k < 2; ++k) {
        const Eigen::RowVector3d row = R.row(k);  // world angular acceleration component k = R.row(k) omega_dot_base
        const double b = o.orientation_kp * error[k] - o.orientation_kd * omega_world[k];
        H_qq.block<3, 3>(3, 3).noalias() += o.orientation_weight * row.transpose() * row;
        g_q.segment<3>(3).noalias() -= o.orientation_weight * b * row.transpose();
      }
    }
    {  // posture: the loop's joint reference
      std::array<bool, kMaxJoints> task_driven{};
      for (std::size_t k = 0; k < m.task_ids.size(); ++k)
        if (tasks.tasks[k].enabled)
          for (int j = 0; j < m.n; ++j) task_driven[j] = task_driven[j] || m.on_task_chain[k][j];
      // Over the loop time since the last cycle: after a late real-time cycle the reference moved further.
      const double elapsed = t - m.t_previous;
      const bool rate_known = m.have_dq_ref_previous && elapsed > 0.5 * m.period_s;
      for (int j = 0; j < m.n; ++j) {
        const int vj = m.v_index[j];
        // The reference's acceleration (bounded: the interpolator's reference is acceleration-limited, SLA).
        const double qdd_ref = rate_known ? (dq_ref[j] - m.dq_ref_previous[j]) / elapsed : 0.0;
        double b;
        if (m.supports_sole[j] || task_driven[j]) {
          // Soft: the CoM, orientation and hand tasks lead these joints.
          const double q_d = base_target_on ? m.q_pose[m.q_index[j]] : q_ref[j];  // the legs under the base target
          b = qdd_ref + o.posture_kp * (q_d - q_joint[j]) + o.posture_kd * (dq_ref[j] - dq_joint[j]);
        } else {
          // A free joint: its joint impedance over its inertia, as stiff as on the fixed base.
          b = qdd_ref + tau_joint[j] / M(vj, vj);
        }
        H_qq(vj, vj) += o.posture_weight;
        g_q[vj] -= o.posture_weight * b;
      }
      m.dq_ref_previous = dq_ref;
      m.t_previous = t;
      m.have_dq_ref_previous = true;
    }
    for (std::size_t k = 0; k < m.task_ids.size(); ++k) {  // hand tasks, targets in the stance frame
      const CartesianTask& task = tasks.tasks[k];
      TaskReferenceMotion& motion = m.motion[k];
      task_status[k].enabled = task.enabled;
      if (!task.enabled) {
        motion.disable();
        continue;
      }
      const pinocchio::SE3& pose = pinocchio::updateFramePlacement(m.model, m.data, m.task_ids[k]);
      const Eigen::Vector3d position_stance = m.stance_rotation.transpose() * (pose.translation() - m.stance_position);
      const Eigen::Matrix3d rotation_stance = m.stance_rotation.transpose() * pose.rotation();
      motion.update(t, task, position_stance, rotation_stance);  // task_reference.hpp: the time law
      const TaskReferenceMotion::Sample reference = motion.sample(t);  // stance frame
      const Eigen::Vector3d& target_stance = reference.position;
      const Eigen::Matrix3d target_rotation = reference.rotation.toRotationMatrix();
      const Eigen::Matrix3d& Rs = m.stance_rotation;
      Eigen::Matrix<double, 6, 1> reference_twist;  // world axes
      reference_twist.head<3>() = Rs * reference.twist.head<3>();
      reference_twist.tail<3>() = Rs * reference.twist.tail<3>();
      const Eigen::Vector3d position_error = Rs * target_stance + m.stance_position - pose.translation();
      const Eigen::Vector3d orientation_error =
          pinocchio::log3(Eigen::Matrix3d(Rs * target_rotation * pose.rotation().transpose()));
      m.task_jacobian.setZero();
      pinocchio::getFrameJacobian(m.model, m.data, m.task_ids[k], pinocchio::LOCAL_WORLD_ALIGNED, m.task_jacobian);
      const Eigen::Matrix<double, 6, 1> drift =
          pinocchio::getFrameClassicalAcceleration(m.model, m.data, m.task_ids[k], pinocchio::LOCAL_WORLD_ALIGNED)
              .toVector();
      Eigen::Matrix<double, 6, 1> twist;
      twist.noalias() = m.task_jacobian * m.v;
      Eigen::Matrix<double, 6, 1> b;
      for (int a = 0; a < 6; ++a) {
        const double error = a < 3 ? position_error[a] : orientation_error[a - 3];
        b[a] = (task.stiffness[a] * error + task.damping[a] * (reference_twist[a] - twist[a])) / o.task_mass[a < 3 ? 0 : 1] -
               drift[a];
      }
      H_qq.noalias() += o.task_weight * m.task_jacobian.transpose() * m.task_jacobian;
      g_q.noalias() -= o.task_weight * m.task_jacobian.transpose() * b;
      const Eigen::Vector3d position_error_stance = Rs.transpose() * position_error;
      const Eigen::Vector3d orientation_error_stance = Rs.transpose() * orientation_error;
      for (int a = 0; a < 3; ++a) {
        task_status[k].position_error[a] = position_error_stance[a];
        task_status[k].orientation_error[a] = orientation_error_stance[a];
        task_status[k].reference_position[a] = target_stance[a];
      }
    }
    m.H.diagonal().head(nv).array() += o.qdd_regularisation;
    m.H.diagonal().tail(6 * m.nc).array() += o.force_regularisation;

    // ---- solve
    bool ok = false;
    if (m.proxsuite) {
      m.proxsuite_b = -m.ce0;
      m.proxsuite_l = -m.ci0;
      m.proxsuite->update(m.H, m.g, m.CE, m.proxsuite_b, m.CI, m.proxsuite_l, m.proxsuite_u, false);
      m.proxsuite->solve();
      ok = m.proxsuite->results.info.status == proxsuite::proxqp::QPSolverOutput::PROXQP_SOLVED;
      m.x = m.proxsuite->results.x;
      iterations = static_cast<int>(m.proxsuite->results.info.iter);
    } else {
      const auto result = m.eiquadprog.solve_quadprog(m.H, m.g, m.CE, m.ce0, m.CI, m.ci0, m.x);
      ok = result == eiquadprog::solvers::EIQUADPROG_FAST_OPTIMAL;
      iterations = m.eiquadprog.getIteratios();
    }
    ok = ok && m.x.allFinite();
    // The solution's constraint residuals, and the torque it commands.
    double friction_residual = 0.0, torque_residual = 0.0, equality_residual = 0.0;
    if (ok) {
      m.residual_eq.noalias() = m.CE * m.x;
      m.residual_eq += m.ce0;
      equality_residual = m.residual_eq.cwiseAbs().maxCoeff();
      m.residual_in.noalias() = m.CI * m.x;
      m.residual_in += m.ci0;
      friction_residual = std::max(0.0, -m.residual_in.head(kRowsPerFoot * m.nc).minCoeff());
      m.tau.noalias() = M * m.x.head(nv);
      m.tau += h;
      for (int i = 0; i < m.nc; ++i) m.tau.noalias() -= m.sole_jacobian[i].transpose() * m.x.segment<6>(nv + 6 * i);
      for (int j = 0; j < m.n; ++j)
        torque_residual = std::max(torque_residual, std::abs(m.tau[m.v_index[j]]) - m.tau_max[j]);
      ok = friction_residual < kResidualTolerance * (1.0 + m.data.mass[0] * 9.81) &&
           torque_residual < kResidualTolerance * (1.0 + m.tau_max.maxCoeff()) && m.tau.allFinite();
    }
    solved = ok;
    status.friction_residual = friction_residual;
    status.torque_residual = torque_residual;
    status.equality_residual = equality_residual;
    status.com = {com.x(), com.y(), com.z()};
    status.com_reference = {com_reference.x(), com_reference.y(), com_reference.z()};
    status.com_margin = m.support_margin(com.head<2>(), base);
    for (int i = 0; i < m.nc; ++i) {
      const Eigen::Vector3d force = m.sole_rotation[i].transpose() * m.x.segment<3>(nv + 6 * i);
      const Eigen::Vector3d torque = m.sole_rotation[i].transpose() * m.x.segment<3>(nv + 6 * i + 3);
      const bool loaded = solved && base.contact[i] && force.z() > 1e-6;
      const double cop_x = loaded ? -torque.y() / force.z() : 0.0, cop_y = loaded ? torque.x() / force.z() : 0.0;
      status.cop[2 * i] = cop_x;
      status.cop[2 * i + 1] = cop_y;
      status.cop_margin[i] = loaded ? std::min(0.5 * m.sole_size[i][0] - std::abs(cop_x),
                                               0.5 * m.sole_size[i][1] - std::abs(cop_y))
                                    : 0.0;
      status.normal_force[i] = solved ? force.z() : 0.0;
      if (loaded) store_min(min_cop_margin_, status.cop_margin[i]);
      if (loaded) store_min(min_cop_margin_per_foot_[i], status.cop_margin[i]);
    }
    if (solved) {
      store_max(max_friction_residual_, friction_residual);
      store_max(max_torque_residual_, torque_residual);
      store_max(max_equality_residual_, equality_residual);
      if (!std::isnan(status.com_margin)) store_min(min_com_margin_, status.com_margin);
    }
  }

  if (solved) {
    solves_.fetch_add(1, std::memory_order_relaxed);
    consecutive_failures_.store(0, std::memory_order_relaxed);
    for (int j = 0; j < m.n; ++j) m.tau_good[j] = m.tau[m.v_index[j]];
    m.have_good = true;
    m.fallback_weight = 1.0;
    for (int j = 0; j < m.n; ++j) tau_out[j] = ramp * m.tau_good[j] + (1.0 - ramp) * tau_joint[j];
  } else {
    // Fallback: the last good torque fading into the joint impedance (posture PD + damping); never a NaN.
    failures_.fetch_add(1, std::memory_order_relaxed);
    consecutive_failures_.fetch_add(1, std::memory_order_relaxed);
    m.fallback_weight = m.have_good ? m.fallback_weight * std::exp(-m.period_s / o.fallback_time_constant_s) : 0.0;
    for (int j = 0; j < m.n; ++j) {
      const double good = m.have_good ? ramp * m.tau_good[j] + (1.0 - ramp) * tau_joint[j] : tau_joint[j];
      tau_out[j] = m.fallback_weight * good + (1.0 - m.fallback_weight) * tau_joint[j];
    }
    for (std::size_t k = 0; k < m.task_ids.size() && !finite; ++k) task_status[k].enabled = false;
  }
  status.active = true;
  status.qp_ok = solved;
  status.iterations = iterations;
  status_buffer_.publish();
  return true;
}

StandingStatus ContactWbc::read_status() {
  std::lock_guard<std::mutex> lock(status_mutex_);
  return status_buffer_.latest();
}

StandingStatistics ContactWbc::statistics() const {
  StandingStatistics s;
  s.solves = solves_.load(std::memory_order_relaxed);
  s.failures = failures_.load(std::memory_order_relaxed);
  s.consecutive_failures = consecutive_failures_.load(std::memory_order_relaxed);
  s.max_friction_residual = max_friction_residual_.load(std::memory_order_relaxed);
  s.max_torque_residual = max_torque_residual_.load(std::memory_order_relaxed);
  s.max_equality_residual = max_equality_residual_.load(std::memory_order_relaxed);
  s.min_cop_margin = min_cop_margin_.load(std::memory_order_relaxed);
  s.min_com_margin = min_com_margin_.load(std::memory_order_relaxed);
  for (int i = 0; i < kMaxContacts; ++i) s.min_cop_margin_per_foot[i] = min_cop_margin_per_foot_[i].load(std::memory_order_relaxed);
  return s;
}

void ContactWbc::reset_statistics() {
  solves_ = 0, failures_ = 0, consecutive_failures_ = 0;
  max_friction_residual_ = 0.0, max_torque_residual_ = 0.0, max_equality_residual_ = 0.0;
  min_cop_margin_ = 1e9, min_com_margin_ = 1e9;
  for (auto& margin : min_cop_margin_per_foot_) margin = 1e9;
}

std::vector<std::vector<double>> ContactWbc::last_qp() const {
  const Impl& m = *impl_;
  auto flat = [](const Eigen::MatrixXd& matrix) {
    std::vector<double> out(matrix.size());
    for (Eigen::Index r = 0; r < matrix.rows(); ++r)
      for (Eigen::Index c = 0; c < matrix.cols(); ++c) out[r * matrix.cols() + c] = matrix(r, c);
    return out;
  };
  auto vec = [](const Eigen::VectorXd& vector) { return std::vector<double>(vector.data(), vector.data() + vector.size()); };
  return {flat(m.H), vec(m.g), flat(m.CE), vec(m.ce0), flat(m.CI), vec(m.ci0), vec(m.x)};
}

}  // namespace humanoid_rt
