// The reference motion of one Cartesian task (a hand frame), shared by the fixed-base whole-body
// impedance and the contact QP so a target moves a hand the same way on a gantry and standing.
//
// A new target (position, orientation, t_target) starts a motion from where the reference is now, or
// from the measured pose when the task switches on, and reaches the target at t_target:
//   p_ref(t) = p_from + h(t) (p_to - p_from),   R_ref(t) = slerp(R_from, R_to, h(t))
//   v_ref(t) = dh/dt (p_to - p_from),            w_ref(t) = dh/dt log3(R_to R_from^T)
// with s = (t - t0) / (t1 - t0) and h = 3 s^2 - 2 s^3 from rest (smooth start and stop), h = s when a
// target arrives while the reference still moves (a teleop stream keeps a constant speed through it).
// Every quantity is in the frame the caller gives the measured pose and the target in (world for the
// fixed base, the levelled stance frame for the contact QP). Loop thread only; no allocation.
#pragma once

#include <algorithm>
#include <array>

#include <Eigen/Geometry>
#include <pinocchio/spatial/explog.hpp>

#include "humanoid_rt/whole_body_impedance.hpp"

namespace humanoid_rt {

class TaskReferenceMotion {
 public:
  struct Sample {
    Eigen::Vector3d position;
    Eigen::Quaterniond rotation;
    Eigen::Matrix<double, 6, 1> twist;  // linear, angular
  };

  // The task is off: its next target starts from the measured pose.
  void disable() { enabled_ = false; }

  // Takes the task's target as written, if it changed; measured_*: the frame's pose now.
  void update(double t, const CartesianTask& task, const Eigen::Vector3d& measured_position,
              const Eigen::Matrix3d& measured_rotation) {
    const std::array<double, 8> written{task.position[0],   task.position[1],   task.position[2],
                                        task.quaternion[0], task.quaternion[1], task.quaternion[2],
                                        task.quaternion[3], task.t_target};
    if (enabled_ && written == last_target_) return;
    Eigen::Vector3d start_position = measured_position;
    Eigen::Quaterniond start_rotation(measured_rotation);
    bool in_progress = false;
    if (enabled_) {
      double h, h_rate;
      progress(t, h, h_rate);
      start_position = from_position_ + h * (to_position_ - from_position_);
      start_rotation = from_rotation_.slerp(h, to_rotation_);
      in_progress = t < t1_;
    }
    from_position_ = start_position;
    from_rotation_ = start_rotation;
    to_position_ = Eigen::Vector3d(task.position[0], task.position[1], task.position[2]);
    to_rotation_ =
        Eigen::Quaterniond(task.quaternion[0], task.quaternion[1], task.quaternion[2], task.quaternion[3]).normalized();
    t0_ = t;
    t1_ = std::max(task.t_target, t);
    linear_ = in_progress;
    last_target_ = written;
    enabled_ = true;
  }

  Sample sample(double t) const {
    double h, h_rate;
    progress(t, h, h_rate);
    Sample out;
    out.position = from_position_ + h * (to_position_ - from_position_);
    out.rotation = from_rotation_.slerp(h, to_rotation_);
    out.twist.head<3>() = h_rate * (to_position_ - from_position_);
    // slerp turns about one fixed axis: the rate times the whole turn's rotation vector.
    out.twist.tail<3>() = h_rate * pinocchio::log3(Eigen::Matrix3d(to_rotation_.toRotationMatrix() *
                                                                    from_rotation_.toRotationMatrix().transpose()));
    return out;
  }

 private:
  // Progress h(t) in [0, 1] and its rate dh/dt.
  void progress(double t, double& h, double& h_rate) const {
    if (t1_ <= t0_ || t >= t1_) {
      h = 1.0, h_rate = 0.0;
      return;
    }
    const double s = std::clamp((t - t0_) / (t1_ - t0_), 0.0, 1.0);
    if (linear_) {
      h = s, h_rate = 1.0 / (t1_ - t0_);
    } else {
      h = s * s * (3.0 - 2.0 * s), h_rate = 6.0 * s * (1.0 - s) / (t1_ - t0_);
    }
  }

  bool enabled_ = false;
  Eigen::Vector3d from_position_ = Eigen::Vector3d::Zero(), to_position_ = Eigen::Vector3d::Zero();
  Eigen::Quaterniond from_rotation_ = Eigen::Quaterniond::Identity(), to_rotation_ = Eigen::Quaterniond::Identity();
  double t0_ = 0.0, t1_ = 0.0;
  bool linear_ = false;                  // time law: linear while a stream keeps it moving, cubic from rest
  std::array<double, 8> last_target_{};  // position, quaternion, t_target as written
};

}  // namespace humanoid_rt
