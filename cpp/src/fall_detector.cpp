// Fall detection: tilt, CoM outside the support polygon, contact loss (formulas in fall_detector.hpp).
#include "humanoid_rt/fall_detector.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <Eigen/Dense>
#include <pinocchio/algorithm/center-of-mass.hpp>
#include <pinocchio/algorithm/frames.hpp>
#include <pinocchio/algorithm/joint-configuration.hpp>
#include <pinocchio/algorithm/kinematics.hpp>
#include <pinocchio/multibody/data.hpp>
#include <pinocchio/multibody/model.hpp>

#include "urdf_model.hpp"

namespace humanoid_rt {

namespace {
constexpr int kMaxCorners = 4 * kMaxContacts;

struct Point {
  double x = 0.0, y = 0.0;
};

double cross(const Point& o, const Point& a, const Point& b) { return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x); }

// Andrew's monotone chain on n points (sorted in place): the hull, counter-clockwise, into `hull`.
int convex_hull(Point* points, int n, Point* hull) {
  std::sort(points, points + n, [](const Point& a, const Point& b) { return a.x < b.x || (a.x == b.x && a.y < b.y); });
  if (n < 3) {
    for (int i = 0; i < n; ++i) hull[i] = points[i];
    return n;
  }
  int k = 0;
  for (int i = 0; i < n; ++i) {
    while (k >= 2 && cross(hull[k - 2], hull[k - 1], points[i]) <= 0) --k;
    hull[k++] = points[i];
  }
  for (int i = n - 2, lower = k + 1; i >= 0; --i) {
    while (k >= lower && cross(hull[k - 2], hull[k - 1], points[i]) <= 0) --k;
    hull[k++] = points[i];
  }
  return k - 1;  // the last point repeats the first
}

double segment_distance(const Point& p, const Point& a, const Point& b) {
  const double dx = b.x - a.x, dy = b.y - a.y;
  const double length2 = dx * dx + dy * dy;
  const double s = length2 > 0.0 ? std::clamp(((p.x - a.x) * dx + (p.y - a.y) * dy) / length2, 0.0, 1.0) : 0.0;
  return std::hypot(p.x - (a.x + s * dx), p.y - (a.y + s * dy));
}

// Signed distance from the border of a counter-clockwise convex polygon: > 0 outside.
double signed_distance(const Point& p, const Point* hull, int n) {
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  if (n == 1) return std::hypot(p.x - hull[0].x, p.y - hull[0].y);
  double nearest = std::numeric_limits<double>::infinity();
  bool inside = n >= 3;
  for (int i = 0; i < n; ++i) {
    const Point& a = hull[i];
    const Point& b = hull[(i + 1) % n];
    nearest = std::min(nearest, segment_distance(p, a, b));
    if (cross(a, b, p) < 0) inside = false;
  }
  return inside ? -nearest : nearest;
}

Eigen::Matrix3d rotation_of(const std::array<double, 4>& wxyz) {
  Eigen::Quaterniond quaternion(wxyz[0], wxyz[1], wxyz[2], wxyz[3]);
  quaternion.normalize();
  return quaternion.toRotationMatrix();
}
}  // namespace

struct FallDetector::Impl {
  // Immutable after construction.
  pinocchio::Model model;
  std::vector<int> q_index;  // config joint -> model configuration index
  std::vector<pinocchio::FrameIndex> frames;
  std::vector<SoleSpec> soles;
  // Loop thread only (or the non-RT analysis while the loop is stopped).
  pinocchio::Data data;
  Eigen::VectorXd q;
  std::array<Point, kMaxCorners> corners{}, hull{};
  int hull_size = 0;
};

FallDetector::FallDetector(const std::string& urdf_path, const std::vector<std::string>& joint_names,
                           const std::vector<SoleSpec>& soles, const FallDetectorOptions& options)
    : options_(options), impl_(std::make_unique<Impl>()) {
  if (!(options.tilt_rad > 0.0 && options.tilt_rad <= M_PI))
    throw std::invalid_argument("floating_base.fall.tilt_rad: allowed: a number in (0, pi]");
  if (!(options.com_margin_m >= 0.0 && options.com_margin_m <= 1.0))
    throw std::invalid_argument("floating_base.fall.com_margin_m: allowed: a number in 0..1 [m]");
  if (options.com_cycles < 1 || options.com_cycles > 100000)
    throw std::invalid_argument("floating_base.fall.com_cycles: allowed: an integer in 1..100000");
  if (options.contact_loss_cycles < 1 || options.contact_loss_cycles > 100000)
    throw std::invalid_argument("floating_base.fall.contact_loss_cycles: allowed: an integer in 1..100000");
  if (!(options.foot_clearance_m >= 0.0 && options.foot_clearance_m <= 1.0))
    throw std::invalid_argument("floating_base.fall.foot_clearance_m: allowed: a number in 0..1 [m]");
  Impl& m = *impl_;
  m.model = load_urdf_model(urdf_path, ModelRoot::kFixed);
  m.q_index = index_config_joints(m.model, joint_names, urdf_path).q;
  n_contacts_ = static_cast<int>(soles.size());
  if (n_contacts_ < 1 || n_contacts_ > kMaxContacts)
    throw std::invalid_argument("model.contacts: 1.." + std::to_string(kMaxContacts) + " contacts needed");
  for (int i = 0; i < n_contacts_; ++i) {
    const std::string field = "model.contacts[" + std::to_string(i) + "]";
    if (!m.model.existFrame(soles[i].frame))
      throw std::invalid_argument(field + ".frame: '" + soles[i].frame + "' is not a frame of the URDF");
    if (!(soles[i].size[0] > 0.0 && soles[i].size[1] > 0.0))
      throw std::invalid_argument(field + ".sole: allowed: two numbers > 0 (length, width) [m]");
    m.frames.push_back(m.model.getFrameId(soles[i].frame));
  }
  m.soles = soles;
  m.data = pinocchio::Data(m.model);
  m.q = pinocchio::neutral(m.model);
}

FallDetector::~FallDetector() = default;

void FallDetector::reset() {
  com_outside_cycles_ = 0;
  contact_lost_cycles_ = 0;
}

int FallDetector::project(const JointVector& q, const std::array<double, 4>& orientation, const std::uint8_t* contact,
                          double com_xy[2]) const {
  Impl& m = *impl_;
  for (std::size_t j = 0; j < m.q_index.size(); ++j) m.q[m.q_index[j]] = q[j];
  pinocchio::centerOfMass(m.model, m.data, m.q, false);  // runs the forward kinematics too
  const Eigen::Matrix3d R = rotation_of(orientation);
  const Eigen::Vector3d com = R * m.data.com[0];
  com_xy[0] = com.x();
  com_xy[1] = com.y();
  int n = 0;
  for (int i = 0; i < n_contacts_; ++i) {
    if (!contact[i]) continue;
    const pinocchio::SE3 placement = pinocchio::updateFramePlacement(m.model, m.data, m.frames[i]);
    const SoleSpec& sole = m.soles[i];
    for (int corner = 0; corner < 4; ++corner) {
      const Eigen::Vector3d local(sole.offset[0] + ((corner & 1) ? 0.5 : -0.5) * sole.size[0],
                                  sole.offset[1] + ((corner & 2) ? 0.5 : -0.5) * sole.size[1], sole.offset[2]);
      const Eigen::Vector3d world = R * (placement.translation() + placement.rotation() * local);
      m.corners[n++] = {world.x(), world.y()};
    }
  }
  m.hull_size = convex_hull(m.corners.data(), n, m.hull.data());
  return m.hull_size;
}

Cause FallDetector::update(const BaseState& base, const BaseSensors& sensors, const JointVector& q,
                           bool contact_expected) {
  const auto& o = base.orientation;
  last_tilt_ = std::acos(std::clamp(1.0 - 2.0 * (o[1] * o[1] + o[2] * o[2]), -1.0, 1.0));
  if (last_tilt_ > options_.tilt_rad) return {Reason::kFallTilt, -1, last_tilt_, options_.tilt_rad};

  bool any_contact = false;
  for (int i = 0; i < n_contacts_; ++i) any_contact = any_contact || base.contact[i];
  const bool contact_measured = sensors.n_feet > 0;
  contact_lost_cycles_ = (contact_measured && contact_expected && !any_contact) ? contact_lost_cycles_ + 1 : 0;
  if (contact_lost_cycles_ >= options_.contact_loss_cycles)
    return {Reason::kFallContactLost, -1, double(contact_lost_cycles_), double(options_.contact_loss_cycles)};

  if (!any_contact) {
    com_outside_cycles_ = 0;
    last_com_distance_ = std::numeric_limits<double>::quiet_NaN();
    return {};
  }
  std::array<std::uint8_t, kMaxContacts> supporting{};
  for (int i = 0; i < n_contacts_; ++i)
    supporting[i] = base.contact[i] || base.foot_position[3 * i + 2] < options_.foot_clearance_m ? 1 : 0;
  double com_xy[2];
  const int n = project(q, base.orientation, supporting.data(), com_xy);
  last_com_distance_ = signed_distance({com_xy[0], com_xy[1]}, impl_->hull.data(), n);
  com_outside_cycles_ = last_com_distance_ > options_.com_margin_m ? com_outside_cycles_ + 1 : 0;
  if (com_outside_cycles_ >= options_.com_cycles)
    return {Reason::kFallComOutsideSupport, -1, last_com_distance_, options_.com_margin_m};
  return {};
}

std::vector<double> FallDetector::support_polygon(const std::vector<double>& q, const std::array<double, 4>& orientation,
                                                  const std::vector<int>& contact, std::array<double, 2>& com_xy) const {
  if (q.size() != impl_->q_index.size()) throw std::invalid_argument("q: one value per joint");
  JointVector joints{};
  std::copy(q.begin(), q.end(), joints.begin());
  std::array<std::uint8_t, kMaxContacts> flags{};
  for (int i = 0; i < n_contacts_ && i < static_cast<int>(contact.size()); ++i) flags[i] = contact[i] ? 1 : 0;
  double xy[2];
  const int n = project(joints, orientation, flags.data(), xy);
  com_xy = {xy[0], xy[1]};
  std::vector<double> vertices;
  for (int i = 0; i < n; ++i) {
    vertices.push_back(impl_->hull[i].x);
    vertices.push_back(impl_->hull[i].y);
  }
  return vertices;
}

}  // namespace humanoid_rt
