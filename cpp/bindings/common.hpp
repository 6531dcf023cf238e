// Shared by the binding files of humanoid_rt._core (one file per area, registered by module.cpp):
// numpy <-> JointVector conversion that names the argument on a bad shape, and the dict forms of
// supervisor events, latency histograms, base states and IMU samples.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "humanoid_rt/base_sensors.hpp"
#include "humanoid_rt/control_loop.hpp"
#include "humanoid_rt/latency_histogram.hpp"

namespace humanoid_rt::bindings {

namespace py = pybind11;

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

inline py::array_t<double> to_numpy(const JointVector& v, int n) {
  py::array_t<double> out(n);
  std::copy(v.begin(), v.begin() + n, out.mutable_data());
  return out;
}

// Copies a (n,) array into v, naming the argument when the shape is wrong.
inline void from_numpy(const Array& a, int n, JointVector& v, const char* name) {
  if (a.ndim() != 1 || a.shape(0) != n)
    throw py::value_error(std::string(name) + ": expected shape (" + std::to_string(n) + ",), got " +
                          std::string(py::str(py::tuple(py::cast(std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim()))))));
  const double* d = a.data();
  for (int j = 0; j < n; ++j) {
    if (!std::isfinite(d[j]))
      throw py::value_error(std::string(name) + "[" + std::to_string(j) + "]: must be finite (got " + std::to_string(d[j]) + ")");
    v[j] = d[j];
  }
}

inline py::dict event_to_dict(const SafetyEvent& e) {
  py::dict d;
  d["cycle"] = e.cycle;
  d["t"] = e.t;
  d["request_id"] = e.request_id;
  d["from_state"] = to_string(e.from);
  d["to_state"] = to_string(e.to);
  d["reason"] = to_string(e.reason);
  d["joint"] = static_cast<int>(e.joint);
  d["accepted"] = static_cast<bool>(e.accepted);
  d["value"] = e.value;
  d["limit"] = e.limit;
  return d;
}

inline py::dict histogram_to_dict(const LatencyHistogram& h) {
  py::dict d;
  d["count"] = h.count();
  d["mean_us"] = h.mean_ns() / 1e3;
  d["p50_us"] = h.quantile_ns(0.50) / 1e3;
  d["p90_us"] = h.quantile_ns(0.90) / 1e3;
  d["p99_us"] = h.quantile_ns(0.99) / 1e3;
  d["p999_us"] = h.quantile_ns(0.999) / 1e3;
  d["max_us"] = static_cast<double>(h.max_ns()) / 1e3;
  return d;
}

inline std::string number(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", x);
  return text;
}

// Floating base (issue 13): base estimator state and IMU samples.
inline py::dict base_state_to_dict(const BaseState& b) {
  py::dict d;
  const int nc = b.n_contacts;
  d["valid"] = b.valid;
  d["position"] = py::array_t<double>(3, b.position.data());
  d["velocity"] = py::array_t<double>(3, b.velocity.data());
  d["orientation"] = py::array_t<double>(4, b.orientation.data());
  d["angular_velocity"] = py::array_t<double>(3, b.angular_velocity.data());
  py::array_t<double> feet({static_cast<py::ssize_t>(nc), py::ssize_t(3)});
  std::copy(b.foot_position.begin(), b.foot_position.begin() + 3 * nc, feet.mutable_data());
  d["foot_position"] = feet;
  py::array_t<bool> contact(nc);
  for (int i = 0; i < nc; ++i) contact.mutable_data()[i] = b.contact[i] != 0;
  d["contact"] = contact;
  d["covariance_diagonal"] = py::array_t<double>(6 + 3 * nc, b.covariance_diagonal.data());
  return d;
}

// Telemetry rows of the base estimator: base_valid (k,), base_position / base_velocity /
// base_angular_velocity (k, 3), base_orientation (k, 4), base_contact (k, n_contacts),
// base_covariance (k, 6 + 3 n_contacts).
inline void add_base_telemetry(py::dict& d, const BaseState* bases, std::size_t count) {
  const auto rows = static_cast<py::ssize_t>(count);
  py::ssize_t nc = 0;
  for (std::size_t i = 0; i < count; ++i) nc = std::max<py::ssize_t>(nc, bases[i].n_contacts);
  py::array_t<bool> valid(rows);
  py::array_t<double> position({rows, py::ssize_t(3)}), velocity({rows, py::ssize_t(3)}),
      angular_velocity({rows, py::ssize_t(3)}), orientation({rows, py::ssize_t(4)}),
      covariance({rows, 6 + 3 * nc});
  py::array_t<bool> contact({rows, nc});
  for (std::size_t i = 0; i < count; ++i) {
    const BaseState& b = bases[i];
    valid.mutable_data()[i] = b.valid;
    std::copy(b.position.begin(), b.position.end(), position.mutable_data() + 3 * i);
    std::copy(b.velocity.begin(), b.velocity.end(), velocity.mutable_data() + 3 * i);
    std::copy(b.angular_velocity.begin(), b.angular_velocity.end(), angular_velocity.mutable_data() + 3 * i);
    std::copy(b.orientation.begin(), b.orientation.end(), orientation.mutable_data() + 4 * i);
    std::copy(b.covariance_diagonal.begin(), b.covariance_diagonal.begin() + 6 + 3 * nc,
              covariance.mutable_data() + (6 + 3 * nc) * i);
    for (py::ssize_t c = 0; c < nc; ++c) contact.mutable_data()[nc * i + c] = b.contact[c] != 0;
  }
  d["base_valid"] = valid;
  d["base_position"] = position;
  d["base_velocity"] = velocity;
  d["base_angular_velocity"] = angular_velocity;
  d["base_orientation"] = orientation;
  d["base_contact"] = contact;
  d["base_covariance"] = covariance;
}

inline py::dict imu_to_dict(const ImuSample& imu) {
  py::dict d;
  d["sequence"] = imu.sequence;
  d["t"] = imu.t;
  d["orientation"] = py::array_t<double>(4, imu.orientation.data());
  d["gyro"] = py::array_t<double>(3, imu.gyro.data());
  d["accel"] = py::array_t<double>(3, imu.accel.data());
  return d;
}

// One registration function per area, called in this order by module.cpp (base classes first).
void bind_loop(py::module_& m);            // enums, parameters, Bus, WholeBodyImpedance, ControlLoop, StateReader
void bind_sim(py::module_& m);             // MockBus, MujocoBus
void bind_floating_base(py::module_& m);   // IMU and foot sensors, base state estimator
void bind_can(py::module_& m);             // _core.can
void bind_testing(py::module_& m);         // _core.testing
void bind_teleop(py::module_& m);          // _core.teleop
void bind_ethercat(py::module_& m);        // EtherCAT bus, CiA 402 helpers, virtual slave line

}  // namespace humanoid_rt::bindings
