// The base state estimator's Kalman filter and leg kinematics (math in base_estimator.hpp).
#include "humanoid_rt/base_estimator.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <Eigen/Dense>
#include <pinocchio/algorithm/frames.hpp>
#include <pinocchio/algorithm/joint-configuration.hpp>
#include <pinocchio/algorithm/kinematics.hpp>
#include <pinocchio/multibody/data.hpp>
#include <pinocchio/multibody/model.hpp>

#include "urdf_model.hpp"

namespace humanoid_rt {

namespace {
constexpr int kX = BaseStateEstimator::kMaxStates;
constexpr int kY = BaseStateEstimator::kMaxMeasurements;
// Dynamic sizes with fixed maxima: storage inside the object, so the filter never allocates.
using MatXX = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor, kX, kX>;
using MatYX = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor, kY, kX>;
using MatYY = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor, kY, kY>;
using VecX = Eigen::Matrix<double, Eigen::Dynamic, 1, Eigen::ColMajor, kX, 1>;
using VecY = Eigen::Matrix<double, Eigen::Dynamic, 1, Eigen::ColMajor, kY, 1>;
}  // namespace

struct BaseStateEstimator::Impl {
  // Immutable after construction.
  pinocchio::Model model;
  BaseEstimatorOptions options;
  double dt = 0.001;
  int n = 0;                      // joints
  int nc = 0;                     // contact points
  int nx = 0, ny = 0;
  std::vector<int> q_index, v_index;  // config joint -> model configuration / velocity index
  std::vector<pinocchio::FrameIndex> contact_frames;
  Eigen::Matrix3d base_R_imu = Eigen::Matrix3d::Identity();
  Eigen::Vector3d base_p_imu = Eigen::Vector3d::Zero();
  MatYX H;                        // measurement matrix (constant, see header)

  // Loop thread only.
  pinocchio::Data data;
  Eigen::VectorXd q, v;           // sized at construction
  bool started = false;
  VecX x;
  MatXX P, tmp_xx;
  MatYX HP, KT;
  MatYY S;
  VecY y, innovation, R_diag;
  Eigen::LDLT<MatYY> ldlt;
  std::array<Eigen::Vector3d, kMaxContacts> r{}, rdot{};  // contact points in base axes, their velocity

  Impl(const std::string& urdf_path, const std::vector<std::string>& joint_names, const std::string& imu_frame,
       const std::vector<ContactPointSpec>& contacts, double period_s, const BaseEstimatorOptions& opts)
      : options(opts), dt(period_s), ldlt(kY) {
    if (!(period_s > 0.0)) throw std::invalid_argument("period_s: must be > 0");
    model = load_urdf_model(urdf_path, ModelRoot::kFreeFlyer);
    ConfigJointIndices indices = index_config_joints(model, joint_names, urdf_path);
    n = static_cast<int>(joint_names.size());
    q_index = std::move(indices.q);
    v_index = std::move(indices.v);

    // The IMU must ride on the root link: its placement there is then constant.
    if (!model.existFrame(imu_frame))
      throw std::invalid_argument("model.imu.frame: '" + imu_frame + "' is not a frame of the URDF");
    const pinocchio::Frame& imu = model.frames[model.getFrameId(imu_frame)];
    if (imu.parentJoint != 1)
      throw std::invalid_argument("model.imu.frame: '" + imu_frame +
                                  "' is not fixed to the root link (it moves with joint '" + model.names[imu.parentJoint] + "')");
    base_R_imu = imu.placement.rotation();
    base_p_imu = imu.placement.translation();

    nc = static_cast<int>(contacts.size());
    if (nc < 1 || nc > kMaxContacts)
      throw std::invalid_argument("model.contacts: 1.." + std::to_string(kMaxContacts) + " contact points needed (got " +
                                  std::to_string(nc) + ")");
    for (int i = 0; i < nc; ++i) {
      const auto& c = contacts[i];
      const std::string field = "model.contacts[" + std::to_string(i) + "].frame";
      if (!model.existFrame(c.frame)) throw std::invalid_argument(field + ": '" + c.frame + "' is not a frame of the URDF");
      const pinocchio::Frame& parent = model.frames[model.getFrameId(c.frame)];
      if (parent.parentJoint <= 1)
        throw std::invalid_argument(field + ": '" + c.frame + "' is fixed to the root link, not to a leg");
      const pinocchio::SE3 point_in_parent(Eigen::Matrix3d::Identity(), Eigen::Vector3d(c.offset[0], c.offset[1], c.offset[2]));
      const auto id = model.addFrame(pinocchio::Frame("humanoid_rt_contact_" + std::to_string(i), parent.parentJoint,
                                                      model.getFrameId(c.frame), parent.placement * point_in_parent,
                                                      pinocchio::OP_FRAME));
      contact_frames.push_back(id);
    }
    data = pinocchio::Data(model);
    q = pinocchio::neutral(model);  // base at the origin, identity orientation: world == base axes
    v = Eigen::VectorXd::Zero(model.nv);

    nx = 6 + 3 * nc;
    ny = 7 * nc;
    // Rows per contact i: 3 kinematics (f_i - p), 3 velocity (v), 1 height (f_i,z).
    H.setZero(ny, nx);
    for (int i = 0; i < nc; ++i) {
      const int row = 7 * i, f = 6 + 3 * i;
      H.block<3, 3>(row, 0) = -Eigen::Matrix3d::Identity();
      H.block<3, 3>(row, f) = Eigen::Matrix3d::Identity();
      H.block<3, 3>(row + 3, 3) = Eigen::Matrix3d::Identity();
      H(row + 6, f + 2) = 1.0;
    }
    x.setZero(nx);
    P.setZero(nx, nx);
    tmp_xx.setZero(nx, nx);
    HP.setZero(ny, nx);
    KT.setZero(ny, nx);
    S.setZero(ny, ny);
    y.setZero(ny);
    innovation.setZero(ny);
    R_diag.setZero(ny);
    ldlt.compute(MatYY::Identity(ny, ny));  // sizes its internal storage now
  }

  // Leg kinematics with the base at identity: contact points and their velocities in base axes.
  void kinematics(const JointVector& qj, const JointVector& dqj) {
    for (int j = 0; j < n; ++j) {
      q[q_index[j]] = qj[j];
      v[v_index[j]] = dqj[j];
    }
    pinocchio::forwardKinematics(model, data, q, v);
    for (int i = 0; i < nc; ++i) {
      const pinocchio::FrameIndex id = contact_frames[i];
      r[i] = pinocchio::updateFramePlacement(model, data, id).translation();
      rdot[i] = pinocchio::getFrameVelocity(model, data, id, pinocchio::LOCAL_WORLD_ALIGNED).linear();
    }
  }
};

BaseStateEstimator::BaseStateEstimator(const std::string& urdf_path, const std::vector<std::string>& joint_names,
                                       const std::string& imu_frame, const std::vector<ContactPointSpec>& contacts,
                                       double period_s, const BaseEstimatorOptions& options)
    : impl_(std::make_unique<Impl>(urdf_path, joint_names, imu_frame, contacts, period_s, options)) {}

BaseStateEstimator::~BaseStateEstimator() = default;

int BaseStateEstimator::n_joints() const { return impl_->n; }
int BaseStateEstimator::n_contacts() const { return impl_->nc; }
const BaseEstimatorOptions& BaseStateEstimator::options() const { return impl_->options; }

void BaseStateEstimator::reset() { impl_->started = false; }

std::vector<double> BaseStateEstimator::contact_points_in_base(const std::vector<double>& q_config) const {
  Impl& m = *impl_;
  if (static_cast<int>(q_config.size()) != m.n)
    throw std::invalid_argument("q: expected " + std::to_string(m.n) + " joint positions");
  pinocchio::Data data(m.model);
  Eigen::VectorXd q = pinocchio::neutral(m.model);
  for (int j = 0; j < m.n; ++j) q[m.q_index[j]] = q_config[j];
  pinocchio::framesForwardKinematics(m.model, data, q);
  std::vector<double> out;
  for (int i = 0; i < m.nc; ++i)
    for (int k = 0; k < 3; ++k) out.push_back(data.oMf[m.contact_frames[i]].translation()[k]);
  return out;
}

void BaseStateEstimator::update(const JointVector& qj, const JointVector& dqj, const BaseSensors& sensors,
                                BaseState& out) {
  Impl& m = *impl_;
  const BaseEstimatorOptions& o = m.options;
  const int nc = m.nc, nx = m.nx;

  // Orientation and rate from the IMU.
  const auto& qi = sensors.imu.orientation;
  Eigen::Quaterniond world_q_imu(qi[0], qi[1], qi[2], qi[3]);
  if (!(world_q_imu.norm() > 0.5)) world_q_imu.setIdentity();  // no sample yet: level
  world_q_imu.normalize();
  const Eigen::Matrix3d world_R_imu = world_q_imu.toRotationMatrix();
  const Eigen::Matrix3d world_R_base = world_R_imu * m.base_R_imu.transpose();
  const Eigen::Vector3d omega_base = m.base_R_imu * Eigen::Vector3d(sensors.imu.gyro[0], sensors.imu.gyro[1], sensors.imu.gyro[2]);
  const Eigen::Vector3d omega_world = world_R_base * omega_base;
  const Eigen::Vector3d r_imu_world = world_R_base * m.base_p_imu;
  Eigen::Vector3d accel_world = world_R_imu * Eigen::Vector3d(sensors.imu.accel[0], sensors.imu.accel[1], sensors.imu.accel[2]);
  accel_world.z() -= o.gravity;
  accel_world -= omega_world.cross(omega_world.cross(r_imu_world));  // the IMU sits off the base origin

  m.kinematics(qj, dqj);

  // Contacts: measured force when the sensors measure every point, else the schedule.
  const std::uint32_t schedule = contact_schedule_.load(std::memory_order_relaxed);
  std::array<bool, kMaxContacts> contact{};
  for (int i = 0; i < nc; ++i)
    contact[i] = sensors.n_feet >= nc ? sensors.feet[i].normal_force >= o.contact_force_threshold_n
                                      : ((schedule >> i) & 1u) != 0;

  if (!m.started) {
    double lowest = 0.0;
    for (int i = 0; i < nc; ++i) lowest = std::min(lowest, (world_R_base * m.r[i]).z());
    m.x.setZero(nx);
    m.x(2) = o.ground_height - lowest;
    for (int i = 0; i < nc; ++i) m.x.segment<3>(6 + 3 * i) = m.x.head<3>() + world_R_base * m.r[i];
    m.P.setZero(nx, nx);
    m.P.diagonal().head<3>().setConstant(1e-6);
    m.P.diagonal().segment<3>(3).setConstant(1e-4);
    m.P.diagonal().tail(3 * nc).setConstant(1e-6);
    m.started = true;
  } else {
    // Predict. A = I + dt E (E moves v into p), so A x and A P A^T are row and column additions:
    // rows p += dt rows v, then columns p += dt columns v (O(n^2) instead of two dense products).
    m.x.head<3>() += m.dt * m.x.segment<3>(3) + 0.5 * m.dt * m.dt * accel_world;
    m.x.segment<3>(3) += m.dt * accel_world;
    m.P.topRows<3>() += m.dt * m.P.middleRows<3>(3);
    m.P.leftCols<3>() += m.dt * m.P.middleCols<3>(3);
    m.P.diagonal().head<3>().array() += m.dt * o.base_position_noise * o.base_position_noise;
    m.P.diagonal().segment<3>(3).array() += m.dt * o.base_velocity_noise * o.base_velocity_noise;
    for (int i = 0; i < nc; ++i) {
      const double s = contact[i] ? o.foot_process_noise : o.swing_process_noise;
      m.P.diagonal().segment<3>(6 + 3 * i).array() += m.dt * s * s;
    }

    // Measure.
    for (int i = 0; i < nc; ++i) {
      const int row = 7 * i;
      m.y.segment<3>(row) = world_R_base * m.r[i];
      m.y.segment<3>(row + 3) = -world_R_base * (omega_base.cross(m.r[i]) + m.rdot[i]);
      m.y(row + 6) = o.ground_height;
      const double sv = contact[i] ? o.foot_velocity_noise : o.swing_measurement_noise;
      const double sh = contact[i] ? o.foot_height_noise : o.swing_measurement_noise;
      m.R_diag.segment<3>(row).setConstant(o.foot_position_noise * o.foot_position_noise);
      m.R_diag.segment<3>(row + 3).setConstant(sv * sv);
      m.R_diag(row + 6) = sh * sh;
    }
    // Update: S = H P H^T + R; K^T = S^-1 H P (P symmetric); x += K (y - H x); P -= K H P.
    // H selects and subtracts blocks (see the constructor), so H P and (H P) H^T are block copies.
    m.innovation.noalias() = m.y - m.H * m.x;
    for (int i = 0; i < nc; ++i) {
      const int row = 7 * i, f = 6 + 3 * i;
      m.HP.middleRows<3>(row) = m.P.middleRows<3>(f) - m.P.topRows<3>();
      m.HP.middleRows<3>(row + 3) = m.P.middleRows<3>(3);
      m.HP.row(row + 6) = m.P.row(f + 2);
    }
    for (int i = 0; i < nc; ++i) {
      const int col = 7 * i, f = 6 + 3 * i;
      m.S.middleCols<3>(col) = m.HP.middleCols<3>(f) - m.HP.leftCols<3>();
      m.S.middleCols<3>(col + 3) = m.HP.middleCols<3>(3);
      m.S.col(col + 6) = m.HP.col(f + 2);
    }
    m.S.diagonal() += m.R_diag;
    m.ldlt.compute(m.S);
    m.KT = m.ldlt.solve(m.HP);
    m.x.noalias() += m.KT.transpose() * m.innovation;
    m.P.noalias() -= m.KT.transpose() * m.HP;
    m.tmp_xx = 0.5 * (m.P + m.P.transpose());
    m.P = m.tmp_xx;
  }

  out.valid = true;
  out.n_contacts = static_cast<std::uint8_t>(nc);
  const Eigen::Quaterniond world_q_base(world_R_base);
  out.orientation = {world_q_base.w(), world_q_base.x(), world_q_base.y(), world_q_base.z()};
  for (int k = 0; k < 3; ++k) {
    out.position[k] = m.x(k);
    out.velocity[k] = m.x(3 + k);
    out.angular_velocity[k] = omega_base[k];
  }
  for (int i = 0; i < kMaxContacts; ++i) {
    out.contact[i] = i < nc && contact[i] ? 1 : 0;
    for (int k = 0; k < 3; ++k) out.foot_position[3 * i + k] = i < nc ? m.x(6 + 3 * i + k) : 0.0;
  }
  out.covariance_diagonal.fill(0.0);
  for (int s = 0; s < nx; ++s) out.covariance_diagonal[s] = m.P(s, s);
}

}  // namespace humanoid_rt
