// Shared by the binding files of humanoid_rt._core (one file per area, registered by module.cpp):
// numpy <-> JointVector conversion that names the argument on a bad shape, and the dict forms of
// supervisor events, base states and IMU samples, and the statistics objects every area reports.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <type_traits>
#include <vector>

#include "humanoid_rt/base_sensors.hpp"
#include "humanoid_rt/control_loop.hpp"
#include "humanoid_rt/latency_histogram.hpp"
#include "humanoid_rt/telemetry.hpp"

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

// ---- Statistics objects (one scheme for every C++ object that counts) ----
// Every bus, loop, receiver and virtual device reports `statistics()` as a typed, read-only object:
// its fields are attributes (code reads `s.cycles`), `to_dict()` gives plain data for JSON with the
// field names as keys (robot.statistics(), the demo report and bench JSON use these keys), and
// `s["cycles"]`, `keys()` and `in` read it like the dict it replaces. Units are in the names: counts
// are bare plural nouns, durations end in _us / _ns, and a distribution (a LatencySummary) is named
// after the interval it measures, ending in _latency or _time.

// A latency histogram's summary at the moment it was read [us].
struct LatencySummary {
  std::uint64_t count = 0;
  double mean_us = 0, p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

inline LatencySummary summarize(const LatencyHistogram& h) {
  LatencySummary s;
  s.count = h.count();
  s.mean_us = h.mean_ns() / 1e3;
  s.p50_us = h.quantile_ns(0.50) / 1e3;
  s.p90_us = h.quantile_ns(0.90) / 1e3;
  s.p99_us = h.quantile_ns(0.99) / 1e3;
  s.p999_us = h.quantile_ns(0.999) / 1e3;
  s.max_us = static_cast<double>(h.max_ns()) / 1e3;
  return s;
}

// Binds a statistics type T: field() per reported value (a data member or a getter), then the
// FIELDS tuple, to_dict(), item access and repr from that one list when the binder goes out of scope.
template <class T>
class StatisticsClass {
 public:
  StatisticsClass(py::handle scope, const char* name, const char* doc) : cls_(scope, name, doc) {}
  StatisticsClass(const StatisticsClass&) = delete;
  StatisticsClass& operator=(const StatisticsClass&) = delete;

  template <class Member, class C, std::enable_if_t<std::is_base_of_v<C, T>, int> = 0>
  StatisticsClass& field(const char* name, Member C::*member, const char* doc = "") {
    cls_.def_readonly(name, member, doc);
    fields_.append(name);
    return *this;
  }
  template <class Getter, std::enable_if_t<!std::is_member_object_pointer_v<Getter>, int> = 0>
  StatisticsClass& field(const char* name, Getter getter, const char* doc = "") {
    cls_.def_property_readonly(name, getter, doc);
    fields_.append(name);
    return *this;
  }

  ~StatisticsClass() noexcept(false) {
    cls_.attr("FIELDS") = py::tuple(fields_);
    cls_.def("to_dict", &to_dict, "Plain data (nested statistics as dicts) with the field names as keys.");
    cls_.def("keys", [](py::handle self) { return py::list(self.attr("FIELDS")); });
    cls_.def("__getitem__", [](py::handle self, const std::string& key) {
      if (!self.attr("FIELDS").contains(key)) throw py::key_error(key);
      return self.attr(key.c_str());
    });
    cls_.def("__iter__", [](py::handle self) { return self.attr("FIELDS").attr("__iter__")(); });
    cls_.def("__contains__", [](py::handle self, const std::string& key) { return self.attr("FIELDS").contains(key); });
    cls_.def("__repr__", [](py::handle self) {
      std::string text = py::str(py::type::handle_of(self).attr("__name__"));
      text += "(";
      bool first = true;
      for (py::handle name : self.attr("FIELDS")) {
        text += (first ? "" : ", ") + std::string(py::str(name)) + "=" + std::string(py::repr(self.attr(name)));
        first = false;
      }
      return text + ")";
    });
  }

 private:
  static py::dict to_dict(py::handle self) {
    py::dict d;
    for (py::handle name : self.attr("FIELDS")) {
      py::object value = self.attr(name);
      d[name] = py::hasattr(value, "to_dict") ? value.attr("to_dict")() : value;
    }
    return d;
  }

  py::class_<T> cls_;
  py::list fields_;
};

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

// What drain_telemetry copies out of a floating-base robot's telemetry sample (telemetry.hpp).
struct FloatingBaseRow {
  BaseState base;
  ImuSample imu;
  BalanceSample balance;
};

// Telemetry columns of a floating-base robot, k rows, nc = the estimator's contact points (fixed per
// robot, so batches concatenate): the estimator's base_valid (k,), base_position / base_velocity /
// base_angular_velocity (k, 3), base_orientation (k, 4), base_contact (k, nc), base_foot_position
// (k, nc, 3), base_covariance (k, 6 + 3 nc); the IMU sample it used: imu_sequence, imu_t (k,),
// imu_orientation (k, 4), imu_gyro, imu_accel (k, 3); the contact QP's qp_ran, qp_ok (k,), qp_com,
// qp_com_reference (k, 3), qp_com_margin (k,), qp_cop_margin, qp_normal_force (k, nc); the fall
// detector's fall_checked, fall_tilt, fall_com_distance (k,). NaN where that part did not run.
inline void add_floating_base_telemetry(py::dict& d, const FloatingBaseRow* rows_in, std::size_t count, int nc) {
  const auto rows = static_cast<py::ssize_t>(count);
  const auto contacts = static_cast<py::ssize_t>(nc);
  auto flags = [&](const char* key, auto get) {
    py::array_t<bool> column(rows);
    for (std::size_t i = 0; i < count; ++i) column.mutable_data()[i] = get(rows_in[i]);
    d[key] = column;
  };
  auto scalars = [&](const char* key, auto get) {
    py::array_t<double> column(rows);
    for (std::size_t i = 0; i < count; ++i) column.mutable_data()[i] = get(rows_in[i]);
    d[key] = column;
  };
  auto vectors = [&](const char* key, std::vector<py::ssize_t> sample_shape, auto get) {
    std::vector<py::ssize_t> shape{rows};
    shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
    py::array_t<double> column(shape);
    py::ssize_t width = 1;
    for (py::ssize_t extent : sample_shape) width *= extent;
    for (std::size_t i = 0; i < count; ++i) {
      const double* from = get(rows_in[i]);
      std::copy(from, from + width, column.mutable_data() + width * static_cast<py::ssize_t>(i));
    }
    d[key] = column;
  };
  using Row = FloatingBaseRow;
  flags("base_valid", [](const Row& r) { return r.base.valid; });
  vectors("base_position", {3}, [](const Row& r) { return r.base.position.data(); });
  vectors("base_velocity", {3}, [](const Row& r) { return r.base.velocity.data(); });
  vectors("base_angular_velocity", {3}, [](const Row& r) { return r.base.angular_velocity.data(); });
  vectors("base_orientation", {4}, [](const Row& r) { return r.base.orientation.data(); });
  py::array_t<bool> contact({rows, contacts});
  for (std::size_t i = 0; i < count; ++i)
    for (int c = 0; c < nc; ++c) contact.mutable_data()[nc * i + c] = rows_in[i].base.contact[c] != 0;
  d["base_contact"] = contact;
  vectors("base_foot_position", {contacts, 3}, [](const Row& r) { return r.base.foot_position.data(); });
  vectors("base_covariance", {6 + 3 * contacts}, [](const Row& r) { return r.base.covariance_diagonal.data(); });
  py::array_t<std::uint64_t> imu_sequence(rows);
  for (std::size_t i = 0; i < count; ++i) imu_sequence.mutable_data()[i] = rows_in[i].imu.sequence;
  d["imu_sequence"] = imu_sequence;
  scalars("imu_t", [](const Row& r) { return r.imu.t; });
  vectors("imu_orientation", {4}, [](const Row& r) { return r.imu.orientation.data(); });
  vectors("imu_gyro", {3}, [](const Row& r) { return r.imu.gyro.data(); });
  vectors("imu_accel", {3}, [](const Row& r) { return r.imu.accel.data(); });
  flags("qp_ran", [](const Row& r) { return r.balance.qp_ran; });
  flags("qp_ok", [](const Row& r) { return r.balance.qp_ok; });
  vectors("qp_com", {3}, [](const Row& r) { return r.balance.com.data(); });
  vectors("qp_com_reference", {3}, [](const Row& r) { return r.balance.com_reference.data(); });
  scalars("qp_com_margin", [](const Row& r) { return r.balance.com_margin; });
  vectors("qp_cop_margin", {contacts}, [](const Row& r) { return r.balance.cop_margin.data(); });
  vectors("qp_normal_force", {contacts}, [](const Row& r) { return r.balance.normal_force.data(); });
  flags("fall_checked", [](const Row& r) { return r.balance.fall_checked; });
  scalars("fall_tilt", [](const Row& r) { return r.balance.tilt; });
  scalars("fall_com_distance", [](const Row& r) { return r.balance.com_distance; });
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
void bind_standing(py::module_& m);        // fall detection, stops of a standing robot, the twin's pushes
void bind_contact_wbc(py::module_& m);     // the standing controller (contact QP)
void bind_can(py::module_& m);             // _core.can
void bind_testing(py::module_& m);         // _core.testing
void bind_teleop(py::module_& m);          // _core.teleop
void bind_ethercat(py::module_& m);        // _core.ethercat: EtherCAT bus, virtual slave line
void bind_cia402(py::module_& m);          // _core.cia402: the CiA 402 drive state machine shared by the buses

}  // namespace humanoid_rt::bindings
