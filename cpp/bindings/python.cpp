// The one binding file: humanoid_rt._core.
//
// Every call that can wait (start, stop, step, drain) releases the GIL, and
// nothing here lets the RT thread call back into Python. State comes back as
// freshly allocated numpy arrays of shape (n_joints,) built on the caller's
// thread from a snapshot copy.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>
#include <thread>

#include "humanoid_rt/allocation_monitor.hpp"
#include "humanoid_rt/control_loop.hpp"
#include "humanoid_rt/joint_impedance.hpp"
#include "humanoid_rt/latency_histogram.hpp"
#include "mock/mock_bus.hpp"
#include "mujoco/mujoco_bus.hpp"
#include "humanoid_rt/whole_body_impedance.hpp"
#include "ethercat/ethercat_bus.hpp"  // EtherCAT block below
#include "ethercat/virtual_slave/slave_line.hpp"  // EtherCAT block below
#include "can/can_bus.hpp"  // ---- CAN ----
#include "can/virtual_motors.hpp"  // ---- CAN ----
#include "can/cia402.hpp"  // ---- CAN ----
#include <cstring>
#include "humanoid_rt/spsc_ring.hpp"
#include "humanoid_rt/teleop_receiver.hpp"
#include "humanoid_rt/triple_buffer.hpp"

namespace py = pybind11;
using namespace humanoid_rt;
namespace humanoid_rt { void bind_standing(py::module_& m); }  // bind_standing.cpp

namespace {

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

py::array_t<double> to_numpy(const JointVector& v, int n) {
  py::array_t<double> out(n);
  std::copy(v.begin(), v.begin() + n, out.mutable_data());
  return out;
}

// Copies a (n,) array into v, naming the argument when the shape is wrong.
void from_numpy(const Array& a, int n, JointVector& v, const char* name) {
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

py::dict event_to_dict(const SafetyEvent& e) {
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

py::dict histogram_to_dict(const LatencyHistogram& h) {
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

// The rows of a compact state block, in this order (one (7, n) float64 array instead of seven).
constexpr int kStateRows = 7;  // q, dq, tau_measured, tau_command, q_ref, dq_ref, temperature_c

// Copies the n joints of a snapshot into a (7, n) block and the flag arrays (n entries each).
void fill_state_block(const StateSnapshot& s, int n, double* rows, std::uint16_t* drive_error, bool* fresh) {
  const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(double);
  std::memcpy(rows + 0 * n, s.q.data(), bytes);
  std::memcpy(rows + 1 * n, s.dq.data(), bytes);
  std::memcpy(rows + 2 * n, s.tau_measured.data(), bytes);
  std::memcpy(rows + 3 * n, s.tau_command.data(), bytes);
  std::memcpy(rows + 4 * n, s.q_ref.data(), bytes);
  std::memcpy(rows + 5 * n, s.dq_ref.data(), bytes);
  std::memcpy(rows + 6 * n, s.temperature_c.data(), bytes);
  std::memcpy(drive_error, s.drive_error.data(), static_cast<std::size_t>(n) * sizeof(std::uint16_t));
  for (int j = 0; j < n; ++j) fresh[j] = s.fresh[j] != 0;
}

// A reusable reader of the loop's state for tight Python loops: owns its arrays, and update() refills
// them in place from the newest snapshot (no allocation, no dict) and returns (cycle, t, state code).
// Python wraps it as humanoid_rt.StateView. The loop object is kept alive by `owner`.
class StateReader {
 public:
  StateReader(py::object owner, ControlLoop& loop)
      : owner_(std::move(owner)),
        loop_(loop),
        n_(loop.n_joints()),
        rows_({static_cast<py::ssize_t>(kStateRows), static_cast<py::ssize_t>(n_)}),
        drive_error_(n_),
        fresh_(n_) {
    std::fill(rows_.mutable_data(), rows_.mutable_data() + kStateRows * n_, 0.0);
    std::fill(drive_error_.mutable_data(), drive_error_.mutable_data() + n_, 0);
    std::fill(fresh_.mutable_data(), fresh_.mutable_data() + n_, false);
  }

  py::tuple update() {
    double* rows = rows_.mutable_data();
    std::uint16_t* drive_error = drive_error_.mutable_data();
    bool* fresh = fresh_.mutable_data();
    loop_.visit_state([&](const StateSnapshot& s) {
      fill_state_block(s, n_, rows, drive_error, fresh);
      cycle_ = s.cycle;
      t_ = s.t;
      state_ = s.state;
      last_event_ = s.last_event;
    });
    return py::make_tuple(cycle_, t_, static_cast<int>(state_));
  }

  py::array_t<double> rows() const { return rows_; }
  py::array_t<std::uint16_t> drive_error() const { return drive_error_; }
  py::array_t<bool> fresh() const { return fresh_; }
  const SafetyEvent& last_event() const { return last_event_; }

 private:
  py::object owner_;
  ControlLoop& loop_;
  const int n_;
  py::array_t<double> rows_;  // (7, n), see kStateRows
  py::array_t<std::uint16_t> drive_error_;
  py::array_t<bool> fresh_;
  std::uint64_t cycle_ = 0;
  double t_ = 0.0;
  SupervisorState state_ = SupervisorState::kDisabled;
  SafetyEvent last_event_{};
};

// --- concurrency self-tests, run from pytest: real threads against the real templates ---

struct Pair {
  std::uint64_t a = 0, b = 0;  // the producer always writes b == ~a
};

// A producer writes (i, ~i) for i = 1..iterations while a consumer reads; returns the
// number of torn or out-of-order reads (must be 0) and how many distinct values were seen.
py::dict stress_triple_buffer(std::uint64_t iterations) {
  TripleBuffer<Pair> buffer;
  std::atomic<bool> done{false};
  std::uint64_t torn = 0, backwards = 0, distinct = 0, last = 0;
  {
    py::gil_scoped_release release;
    std::thread consumer([&] {
      Pair p;
      while (!done.load(std::memory_order_acquire) || last < iterations) {
        if (!buffer.read(p)) continue;  // busy read: the test wants maximum interleaving
        if (p.b != ~p.a) ++torn;
        if (p.a < last) ++backwards;
        if (p.a != last) ++distinct;
        last = p.a;
      }
    });
    for (std::uint64_t i = 1; i <= iterations; ++i) buffer.write(Pair{i, ~i});
    done.store(true, std::memory_order_release);
    consumer.join();
  }
  py::dict d;
  d["torn"] = torn;
  d["backwards"] = backwards;
  d["distinct"] = distinct;
  d["last"] = last;
  return d;
}

// A producer pushes 1..iterations into a ring of `capacity`; the consumer drains
// in batches. Returns pushed/dropped/received counts and ordering violations.
py::dict stress_spsc_ring(std::uint64_t iterations, std::size_t capacity) {
  SpscRing<Pair> ring(capacity);
  std::atomic<bool> done{false};
  std::uint64_t received = 0, out_of_order = 0, torn = 0, accepted = 0, last = 0;
  {
    py::gil_scoped_release release;
    std::thread consumer([&] {
      Pair batch[64];
      for (;;) {
        const bool finished = done.load(std::memory_order_acquire);
        const std::size_t n = ring.pop_into(batch, 64);
        for (std::size_t i = 0; i < n; ++i) {
          if (batch[i].b != ~batch[i].a) ++torn;
          if (batch[i].a <= last) ++out_of_order;
          last = batch[i].a;
        }
        received += n;
        if (finished && n == 0) break;
      }
    });
    for (std::uint64_t i = 1; i <= iterations; ++i) accepted += ring.push(Pair{i, ~i}) ? 1 : 0;
    done.store(true, std::memory_order_release);
    consumer.join();
  }
  py::dict d;
  d["accepted"] = accepted;
  d["overflows"] = ring.overflows();
  d["received"] = received;
  d["out_of_order"] = out_of_order;
  d["torn"] = torn;
  return d;
}

std::string number(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", x);
  return text;
}

// A ttl shorter than one period would expire before the loop could apply the setpoint.
void check_ttl(const ControlLoop& loop, double ttl, bool zero_allowed = true) {
  if (!(ttl >= loop.period_s() - 1e-12))
    throw py::value_error("ttl: " + number(ttl) + " s is shorter than one loop period (" + number(loop.period_s()) +
                          " s): the setpoint would expire before the loop applies it; allowed: " +
                          (zero_allowed ? "0 (never expires) or " : "") + ">= " +
                          number(loop.period_s()) + " s");
}

// Targets within a sane range of each joint's limits (the reference clamps to the soft range; values
// far outside are a caller's bug, and refused here so that nothing huge reaches the interpolator).
void check_targets(const ControlLoop& loop, const JointSetpoint& sp) {
  for (int j = 0; j < loop.n_joints(); ++j) {
    const JointLimits& l = loop.joint(j).limits;
    const double span = 10.0 * (l.q_max - l.q_min);
    const auto refuse = [j](const char* field, double value, double low, double high) {
      throw py::value_error(std::string(field) + "[" + std::to_string(j) + "]: " + number(value) +
                            " is out of range; allowed: " + number(low) + " .. " + number(high));
    };
    if (!(sp.q[j] >= l.q_min - span && sp.q[j] <= l.q_max + span)) refuse("q", sp.q[j], l.q_min - span, l.q_max + span);
    if (sp.has_velocity && !(std::abs(sp.dq[j]) <= 10.0 * l.velocity))
      refuse("dq", sp.dq[j], -10.0 * l.velocity, 10.0 * l.velocity);
    if (!(std::abs(sp.tau_ff[j]) <= 10.0 * l.torque)) refuse("tau_ff", sp.tau_ff[j], -10.0 * l.torque, 10.0 * l.torque);
  }
}

// One task slot from its Python dict (validated in Python); t_written and ttl are optional (0: not streamed).
CartesianTask task_from_dict(const py::dict& d) {
  CartesianTask task;
  task.enabled = d["enabled"].cast<bool>();
  task.t_target = d["t_target"].cast<double>();
  task.position = d["position"].cast<std::array<double, 3>>();
  task.quaternion = d["quaternion"].cast<std::array<double, 4>>();
  task.stiffness = d["stiffness"].cast<std::array<double, 6>>();
  task.damping = d["damping"].cast<std::array<double, 6>>();
  if (d.contains("t_written")) task.t_written = d["t_written"].cast<double>();
  if (d.contains("ttl")) task.ttl = d["ttl"].cast<double>();
  return task;
}

// ---- floating base (issue 13) ----
py::dict base_state_to_dict(const BaseState& b) {
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
void add_base_telemetry(py::dict& d, const BaseState* bases, std::size_t count) {
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

py::dict imu_to_dict(const ImuSample& imu) {
  py::dict d;
  d["sequence"] = imu.sequence;
  d["t"] = imu.t;
  d["orientation"] = py::array_t<double>(4, imu.orientation.data());
  d["gyro"] = py::array_t<double>(3, imu.gyro.data());
  d["accel"] = py::array_t<double>(3, imu.accel.data());
  return d;
}
// ---- end floating base ----

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "humanoid_rt real-time core (C++)";
  m.attr("MAX_JOINTS") = kMaxJoints;
  m.attr("MAX_TASKS") = kMaxTasks;

  py::enum_<SupervisorState>(m, "SupervisorState")
      .value("DISABLED", SupervisorState::kDisabled)
      .value("ENABLING", SupervisorState::kEnabling)
      .value("ACTIVE", SupervisorState::kActive)
      .value("HOLD", SupervisorState::kHold)
      .value("DAMPING", SupervisorState::kDamping)
      .value("FAULT", SupervisorState::kFault)
      .value("ESTOP", SupervisorState::kEstop)
      .value("RECOVERY", SupervisorState::kRecovery);
  py::enum_<SetpointSource>(m, "SetpointSource", "Who wrote a setpoint (recorded with it in telemetry).")
      .value("API", SetpointSource::kApi)
      .value("TELEOP", SetpointSource::kTeleop)
      .value("SKILL", SetpointSource::kSkill)
      .value("POLICY", SetpointSource::kPolicy);
  py::enum_<Reason> reason(m, "Reason", "Why a supervisor transition happened (the codes in telemetry).");
  for (int code = 0; code < 64; ++code) {
    const auto r = static_cast<Reason>(code);
    if (std::string(to_string(r)) != "unknown") reason.value(to_string(r), r);
  }
  py::enum_<CommandMode>(m, "CommandMode")
      .value("TORQUE", CommandMode::kTorque)
      .value("DRIVE_IMPEDANCE", CommandMode::kDriveImpedance);
  py::enum_<RequestKind>(m, "RequestKind")
      .value("ENABLE", RequestKind::kEnable)
      .value("DISABLE", RequestKind::kDisable)
      .value("RESET", RequestKind::kReset)
      .value("ESTOP", RequestKind::kEstop)
      .value("RECOVER", RequestKind::kRecover);

  py::class_<JointTransmission>(m, "JointTransmission")
      .def(py::init<>())
      .def(py::init([](double gear, double direction, double offset) { return JointTransmission{gear, direction, offset}; }),
           py::arg("gear"), py::arg("direction"), py::arg("offset"))
      .def_readwrite("gear", &JointTransmission::gear)
      .def_readwrite("direction", &JointTransmission::direction)
      .def_readwrite("offset", &JointTransmission::offset);

  py::class_<JointLimits>(m, "JointLimits")
      .def(py::init<>())
      .def_readwrite("q_min", &JointLimits::q_min)
      .def_readwrite("q_max", &JointLimits::q_max)
      .def_readwrite("q_soft_min", &JointLimits::q_soft_min)
      .def_readwrite("q_soft_max", &JointLimits::q_soft_max)
      .def_readwrite("velocity", &JointLimits::velocity)
      .def_readwrite("torque", &JointLimits::torque)
      .def_readwrite("torque_rate", &JointLimits::torque_rate)
      .def_readwrite("damping_kd", &JointLimits::damping_kd)
      .def_readwrite("acceleration", &JointLimits::acceleration)
      .def_readwrite("kp_max", &JointLimits::kp_max)
      .def_readwrite("kd_max", &JointLimits::kd_max);

  py::class_<SafetyParams>(m, "SafetyParams")
      .def(py::init<>())
      .def_readwrite("hold_timeout_s", &SafetyParams::hold_timeout_s)
      .def_readwrite("hold_window_rad", &SafetyParams::hold_window_rad)
      .def_readwrite("damping_time_s", &SafetyParams::damping_time_s)
      .def_readwrite("enable_ramp_s", &SafetyParams::enable_ramp_s)
      .def_readwrite("max_missed_replies", &SafetyParams::max_missed_replies)
      .def_readwrite("encoder_jump_rad", &SafetyParams::encoder_jump_rad)
      .def_readwrite("frozen_encoder_cycles", &SafetyParams::frozen_encoder_cycles)
      .def_readwrite("frozen_torque_nm", &SafetyParams::frozen_torque_nm)
      .def_readwrite("overspeed_factor", &SafetyParams::overspeed_factor)
      .def_readwrite("estop_category", &SafetyParams::estop_category)
      .def_readwrite("temperature_limit_c", &SafetyParams::temperature_limit_c)
      .def_readwrite("frozen_travel_rad", &SafetyParams::frozen_travel_rad)
      .def_readwrite("fault_stop_category", &SafetyParams::fault_stop_category)
      .def_readwrite("recovery_velocity_fraction", &SafetyParams::recovery_velocity_fraction)
      .def_readwrite("recovery_torque_fraction", &SafetyParams::recovery_torque_fraction)
      .def_readwrite("recovery_timeout_s", &SafetyParams::recovery_timeout_s);

  py::class_<LoopOptions>(m, "LoopOptions")
      .def(py::init<>())
      .def_readwrite("rate_hz", &LoopOptions::rate_hz)
      .def_readwrite("priority", &LoopOptions::priority)
      .def_readwrite("cpu", &LoopOptions::cpu)
      .def_readwrite("lock_memory", &LoopOptions::lock_memory)
      .def_readwrite("telemetry_decimation", &LoopOptions::telemetry_decimation)
      .def_readwrite("telemetry_capacity", &LoopOptions::telemetry_capacity)
      .def_readwrite("event_capacity", &LoopOptions::event_capacity);

  py::class_<JointSpec>(m, "JointSpec")
      .def(py::init<>())
      .def_readwrite("transmission", &JointSpec::transmission)
      .def_readwrite("limits", &JointSpec::limits)
      .def_readwrite("kp", &JointSpec::kp)
      .def_readwrite("kd", &JointSpec::kd)
      .def_readwrite("mode", &JointSpec::mode);

  py::class_<Bus, std::shared_ptr<Bus>>(m, "Bus").def_property_readonly("name", &Bus::name);

  py::class_<MockActuator>(m, "MockActuator")
      .def(py::init<>())
      .def_readwrite("inertia_kgm2", &MockActuator::inertia_kgm2)
      .def_readwrite("viscous_nm_s_rad", &MockActuator::viscous_nm_s_rad)
      .def_readwrite("coulomb_nm", &MockActuator::coulomb_nm)
      .def_readwrite("torque_limit_nm", &MockActuator::torque_limit_nm);
  py::class_<MockBusOptions>(m, "MockBusOptions")
      .def(py::init<>())
      .def_readwrite("latency_cycles", &MockBusOptions::latency_cycles)
      .def_readwrite("position_noise_rad", &MockBusOptions::position_noise_rad)
      .def_readwrite("seed", &MockBusOptions::seed)
      .def_readwrite("substeps", &MockBusOptions::substeps)
      .def_readwrite("ambient_temperature_c", &MockBusOptions::ambient_temperature_c);
  py::class_<MockBus, Bus, std::shared_ptr<MockBus>>(m, "MockBus")
      .def(py::init<std::string, const MockBusOptions&>(), py::arg("name"), py::arg("options"))
      .def("set_actuator", &MockBus::set_actuator, py::arg("joint"), py::arg("actuator"), py::arg("transmission"))
      .def("set_joint_position", &MockBus::set_joint_position, py::arg("joint"), py::arg("q"))
      .def("drop_replies", &MockBus::drop_replies, py::arg("joint"), py::arg("cycles"),
           "Drop this joint's replies for `cycles` cycles (-1: until clear_faults()).")
      .def("freeze_encoder", &MockBus::freeze_encoder, py::arg("joint"), py::arg("frozen") = true)
      .def("jump_encoder", &MockBus::jump_encoder, py::arg("joint"), py::arg("offset_rad"))
      .def("nan_position", &MockBus::nan_position, py::arg("joint"), py::arg("on") = true)
      .def("set_drive_error", &MockBus::set_drive_error, py::arg("joint"), py::arg("code"))
      .def("set_temperature", &MockBus::set_temperature, py::arg("joint"), py::arg("celsius"))
      .def("set_external_torque", &MockBus::set_external_torque, py::arg("joint"), py::arg("nm"))
      .def("set_bus_timeout", &MockBus::set_bus_timeout, py::arg("on") = true)
      .def("clear_faults", &MockBus::clear_faults)
      .def("true_position", &MockBus::true_position, py::arg("joint"))
      .def("true_velocity", &MockBus::true_velocity, py::arg("joint"));

  py::class_<MujocoBusOptions>(m, "MujocoBusOptions")
      .def(py::init<>())
      .def_readwrite("substeps", &MujocoBusOptions::substeps)
      .def_readwrite("position_noise_rad", &MujocoBusOptions::position_noise_rad)
      .def_readwrite("velocity_noise_rad_s", &MujocoBusOptions::velocity_noise_rad_s)
      .def_readwrite("seed", &MujocoBusOptions::seed);
  py::class_<MujocoBus, Bus, std::shared_ptr<MujocoBus>>(m, "MujocoBus")
      .def(py::init<std::string, const std::string&, const MujocoBusOptions&>(), py::arg("name"), py::arg("mjcf_xml"),
           py::arg("options"))
      .def("set_joint", &MujocoBus::set_joint, py::arg("joint"), py::arg("mujoco_joint"), py::arg("actuator"),
           py::arg("transmission"))
      .def("set_joint_position", &MujocoBus::set_joint_position, py::arg("joint"), py::arg("q"))
      .def("qpos", &MujocoBus::qpos)
      .def_property_readonly("simulation_time", &MujocoBus::simulation_time)
      .def_property_readonly("timestep", &MujocoBus::timestep)
      .def_property_readonly("contact_count", &MujocoBus::contact_count);

  py::class_<WholeBodyImpedance, std::shared_ptr<WholeBodyImpedance>>(m, "WholeBodyImpedance")
      .def(py::init<const std::string&, const std::vector<std::string>&, const std::vector<std::string>&>(),
           py::arg("urdf_path"), py::arg("joint_names"), py::arg("task_frames"))
      .def_property_readonly("n_joints", &WholeBodyImpedance::n_joints)
      .def_property_readonly("task_frames", &WholeBodyImpedance::task_frames)
      .def_property_readonly("total_mass", &WholeBodyImpedance::total_mass)
      .def("gravity", &WholeBodyImpedance::gravity, py::arg("q"))
      .def(
          "frame_pose",
          [](const WholeBodyImpedance& wb, const std::vector<double>& q, const std::string& frame) {
            const auto T = wb.frame_pose(q, frame);
            py::array_t<double> out({4, 4});
            std::copy(T.begin(), T.end(), out.mutable_data());
            return out;
          },
          py::arg("q"), py::arg("frame"))
      .def(
          "frame_jacobian",
          [](const WholeBodyImpedance& wb, const std::vector<double>& q, const std::string& frame) {
            const auto J = wb.frame_jacobian(q, frame);
            py::array_t<double> out({py::ssize_t(6), static_cast<py::ssize_t>(wb.n_joints())});
            std::copy(J.begin(), J.end(), out.mutable_data());
            return out;
          },
          py::arg("q"), py::arg("frame"), "6 x n, LOCAL_WORLD_ALIGNED: [linear; angular] in world axes.");

  py::class_<ControlLoop>(m, "ControlLoop")
      .def(py::init<const LoopOptions&, const std::vector<JointSpec>&, const SafetyParams&>(), py::arg("options"),
           py::arg("joints"), py::arg("safety"))
      .def("add_bus", &ControlLoop::add_bus, py::arg("bus"), py::arg("joint_indices"))
      .def("set_whole_body", &ControlLoop::set_whole_body, py::arg("controller"))
      .def(
          "write_tasks",
          [](ControlLoop& loop, const std::vector<py::dict>& tasks, bool gravity_compensation) {
            if (tasks.size() > static_cast<std::size_t>(kMaxTasks))
              throw py::value_error("tasks: at most " + std::to_string(kMaxTasks) + " task slots");
            TaskSet set;
            set.gravity_compensation = gravity_compensation;
            for (std::size_t i = 0; i < tasks.size(); ++i) set.tasks[i] = task_from_dict(tasks[i]);
            loop.write_tasks(set);
          },
          py::arg("tasks"), py::arg("gravity_compensation") = true,
          "Replaces every task slot: slot i drives the i-th task frame of the whole-body model; dict keys: enabled, "
          "t_target, position, quaternion (w, x, y, z), stiffness[6], damping[6]. Validate in Python first.")
      .def(
          "write_task",
          [](ControlLoop& loop, int slot, const py::dict& task) {
            const CartesianTask t = task_from_dict(task);
            loop.write_task(slot, t);
          },
          py::arg("slot"), py::arg("task"),
          "Writes one task slot (the others stay as last written, by any producer). Keys as write_tasks.")
      .def("set_gravity_compensation", &ControlLoop::set_gravity_compensation, py::arg("on"))
      .def_property_readonly("n_tasks", &ControlLoop::n_tasks)
      .def(
          "refresh_watchdog",
          [](ControlLoop& loop, double t_written, double ttl) {
            if (ttl > 0.0) check_ttl(loop, ttl, false);  // refresh_watchdog itself refuses ttl <= 0
            loop.refresh_watchdog(t_written, ttl);
          },
          py::arg("t_written"), py::arg("ttl"),
           "Keeps the watchdog alive like a setpoint (written at t_written, alive for ttl > 0) without a joint target.")
      // GIL released: CAN buses wait here for devices that may be served by Python threads.
      .def("configure", &ControlLoop::configure, py::call_guard<py::gil_scoped_release>())
      .def("deactivate", &ControlLoop::deactivate, py::call_guard<py::gil_scoped_release>())
      .def("start",
           [](ControlLoop& loop) {
             RealtimeSetupReport r;
             {
               py::gil_scoped_release release;
               r = loop.start();
             }
             py::dict d;
             d["cpu_dma_latency_zero"] = r.cpu_dma_latency_zero;
             d["sched_fifo"] = r.sched_fifo;
             d["priority"] = r.priority;
             d["cpu_pinned"] = r.cpu_pinned;
             d["cpu"] = r.cpu;
             d["memory_locked"] = r.memory_locked;
             d["notes"] = r.notes;
             return d;
           })
      .def("stop", &ControlLoop::stop, py::call_guard<py::gil_scoped_release>())
      .def("step", &ControlLoop::step, py::arg("cycles") = 1, py::call_guard<py::gil_scoped_release>())
      .def("stall", &ControlLoop::stall, py::arg("seconds"),
           "Stepped mode: the next cycle runs `seconds` later than the period says (a stalled machine).")
      .def_property_readonly("running", &ControlLoop::running)
      .def_property_readonly("n_joints", &ControlLoop::n_joints)
      .def_property_readonly("period_s", &ControlLoop::period_s)
      .def_property_readonly("limits_hash", &ControlLoop::limits_hash)
      .def("now", &ControlLoop::now)
      .def_property_readonly("monotonic_epoch_ns", &ControlLoop::monotonic_epoch_ns,
                             "CLOCK_MONOTONIC [ns] at loop time 0 of the latest real-time run (0 before any).")
      .def(
          "write_setpoint",
          [](ControlLoop& loop, const Array& q, std::optional<Array> dq, std::optional<Array> tau_ff, double t_target,
             double ttl, double t_written, SetpointSource source) {
            const int n = loop.n_joints();
            JointSetpoint sp;
            from_numpy(q, n, sp.q, "q");
            if (dq) {
              from_numpy(*dq, n, sp.dq, "dq");
              sp.has_velocity = true;
            }
            if (tau_ff) from_numpy(*tau_ff, n, sp.tau_ff, "tau_ff");
            if (!std::isfinite(t_target)) throw py::value_error("t_target: must be finite");
            if (!(ttl >= 0.0) || !std::isfinite(ttl)) throw py::value_error("ttl: must be >= 0 seconds (0 = never expires)");
            if (ttl > 0.0) check_ttl(loop, ttl);
            check_targets(loop, sp);
            sp.t_target = t_target;
            sp.ttl = ttl;
            sp.t_written = t_written;
            sp.source = source;
            loop.write_setpoint(sp);
          },
          py::arg("q"), py::arg("dq") = py::none(), py::arg("tau_ff") = py::none(), py::arg("t_target"),
          py::arg("ttl"), py::arg("t_written") = -1.0, py::arg("source") = SetpointSource::kApi)
      .def(
          "write_gains",
          [](ControlLoop& loop, const Array& kp, const Array& kd) {
            JointGains g;
            from_numpy(kp, loop.n_joints(), g.kp, "kp");
            from_numpy(kd, loop.n_joints(), g.kd, "kd");
            for (int j = 0; j < loop.n_joints(); ++j)
              if (g.kp[j] < 0.0 || g.kd[j] < 0.0)
                throw py::value_error(std::string(g.kp[j] < 0.0 ? "kp[" : "kd[") + std::to_string(j) +
                                      "]: must be >= 0 (got " + std::to_string(g.kp[j] < 0.0 ? g.kp[j] : g.kd[j]) + ")");
            for (int j = 0; j < loop.n_joints(); ++j) {
              const JointLimits& l = loop.joint(j).limits;
              if (g.kp[j] > l.kp_max)
                throw py::value_error("kp[" + std::to_string(j) + "]: must be <= " + number(l.kp_max) +
                                      " (the joint's kp_max; got " + number(g.kp[j]) + ")");
              if (g.kd[j] > l.kd_max)
                throw py::value_error("kd[" + std::to_string(j) + "]: must be <= " + number(l.kd_max) +
                                      " (the joint's kd_max; got " + number(g.kd[j]) + ")");
            }
            loop.write_gains(g);
          },
          py::arg("kp"), py::arg("kd"))
      .def("request", &ControlLoop::request, py::arg("kind"))
      .def("estop", &ControlLoop::estop)
      .def("read_state",
           [](ControlLoop& loop) {
             const StateSnapshot s = loop.read_state();
             const int n = loop.n_joints();
             py::dict d;
             d["cycle"] = s.cycle;
             d["t"] = s.t;
             d["state"] = s.state;
             d["last_event"] = event_to_dict(s.last_event);
             d["setpoint_sequence_applied"] = s.setpoint_sequence_applied;
             d["enable_ramp"] = s.enable_ramp;
             d["q"] = to_numpy(s.q, n);
             d["dq"] = to_numpy(s.dq, n);
             d["tau_measured"] = to_numpy(s.tau_measured, n);
             d["temperature_c"] = to_numpy(s.temperature_c, n);
             d["q_ref"] = to_numpy(s.q_ref, n);
             d["dq_ref"] = to_numpy(s.dq_ref, n);
             d["tau_command"] = to_numpy(s.tau_command, n);
             py::array_t<std::uint16_t> err(n);
             std::copy(s.drive_error.begin(), s.drive_error.begin() + n, err.mutable_data());
             d["drive_error"] = err;
             py::array_t<bool> fresh(n);
             for (int j = 0; j < n; ++j) fresh.mutable_data()[j] = s.fresh[j] != 0;
             d["fresh"] = fresh;
             py::list tasks;
             for (const auto& task : s.tasks) {
               py::dict t;
               t["enabled"] = task.enabled;
               t["position_error"] = task.position_error;
               t["orientation_error"] = task.orientation_error;
               t["reference_position"] = task.reference_position;
               tasks.append(t);
             }
             d["tasks"] = tasks;
             return d;
           })
      .def("read_state_compact",
           [](ControlLoop& loop) {
             // robot.state(): one (7, n) block (rows: q, dq, tau_measured, tau_command, q_ref, dq_ref,
             // temperature_c) and the flags, copied straight from the snapshot; no task list.
             const int n = loop.n_joints();
             py::array_t<double> rows({static_cast<py::ssize_t>(kStateRows), static_cast<py::ssize_t>(n)});
             py::array_t<std::uint16_t> drive_error(n);
             py::array_t<bool> fresh(n);
             std::uint64_t cycle = 0;
             double t = 0.0;
             SupervisorState state = SupervisorState::kDisabled;
             SafetyEvent event{};
             double* out = rows.mutable_data();
             std::uint16_t* error_out = drive_error.mutable_data();
             bool* fresh_out = fresh.mutable_data();
             loop.visit_state([&](const StateSnapshot& s) {
               fill_state_block(s, n, out, error_out, fresh_out);
               cycle = s.cycle;
               t = s.t;
               state = s.state;
               event = s.last_event;
             });
             return py::make_tuple(cycle, t, static_cast<int>(state), event_to_dict(event), rows, drive_error, fresh);
           })
      .def(
          "write_target",
          [](ControlLoop& loop, const Array& q, std::optional<Array> dq, std::optional<Array> tau_ff,
             std::optional<double> t_target, double duration, double ttl, SetpointSource source) {
            // set_joint_targets' fast path: every check of write_setpoint plus t/duration resolved here,
            // with one clock read. Errors name the argument; Robot re-checks to add the joint name.
            const int n = loop.n_joints();
            JointSetpoint sp;
            from_numpy(q, n, sp.q, "q");
            if (dq) {
              from_numpy(*dq, n, sp.dq, "dq");
              sp.has_velocity = true;
            }
            if (tau_ff) from_numpy(*tau_ff, n, sp.tau_ff, "tau_ff");
            if (!(ttl >= 0.0) || !std::isfinite(ttl))
              throw py::value_error("ttl: must be >= 0 seconds, 0 = never expires (got " + std::to_string(ttl) + ")");
            const double now = loop.now();
            if (t_target) {
              if (!std::isfinite(*t_target))
                throw py::value_error("t: must be a finite loop time in seconds (got " + std::to_string(*t_target) + ")");
              sp.t_target = *t_target;
            } else {
              if (!(duration >= 0.0) || !std::isfinite(duration))
                throw py::value_error("duration: must be a finite number >= 0 (got " + std::to_string(duration) + ")");
              sp.t_target = now + duration;
            }
            if (ttl > 0.0) check_ttl(loop, ttl);
            check_targets(loop, sp);
            sp.ttl = ttl;
            sp.t_written = now;
            sp.source = source;
            return loop.write_setpoint(sp);
          },
          py::arg("q"), py::arg("dq"), py::arg("tau_ff"), py::arg("t_target"), py::arg("duration"), py::arg("ttl"),
          py::arg("source"))
      .def(
          "drain_telemetry",
          [](ControlLoop& loop, std::size_t max_count) {
            const int n = loop.n_joints();
            // Columns sized by what is there now (later arrivals wait for the next drain), filled straight
            // from the ring's slots: n entries per joint signal, no intermediate copy of whole samples.
            const std::size_t wanted = std::min(max_count, loop.telemetry_available());
            const auto rows = static_cast<py::ssize_t>(wanted);
            py::array_t<std::uint64_t> cycle(rows);
            py::array_t<double> t(rows);
            py::array_t<std::uint8_t> state(rows);
            py::array_t<std::uint16_t> reason(rows);
            py::array_t<std::uint32_t> compute_ns(rows);
            py::array_t<std::uint64_t> setpoint_sequence(rows);
            py::array_t<std::uint8_t> setpoint_source(rows);
            py::array_t<double> setpoint_t_written(rows), setpoint_applied_t(rows), setpoint_t_target(rows);
            const std::vector<py::ssize_t> shape{rows, static_cast<py::ssize_t>(n)};
            py::array_t<double> q(shape), dq(shape), tau_measured(shape), q_ref(shape), dq_ref(shape), tau_command(shape);
            struct Out {
              std::uint64_t* cycle; double* t; std::uint8_t* state; std::uint16_t* reason; std::uint32_t* compute_ns;
              std::uint64_t* setpoint_sequence; std::uint8_t* setpoint_source;
              double *setpoint_t_written, *setpoint_applied_t, *setpoint_t_target;
              double *q, *dq, *tau_measured, *q_ref, *dq_ref, *tau_command;
            } out{cycle.mutable_data(), t.mutable_data(), state.mutable_data(), reason.mutable_data(),
                  compute_ns.mutable_data(), setpoint_sequence.mutable_data(), setpoint_source.mutable_data(),
                  setpoint_t_written.mutable_data(), setpoint_applied_t.mutable_data(), setpoint_t_target.mutable_data(),
                  q.mutable_data(), dq.mutable_data(), tau_measured.mutable_data(), q_ref.mutable_data(),
                  dq_ref.mutable_data(), tau_command.mutable_data()};
            // Floating base only: the estimator's state per sample (copied out here, written to columns below).
            std::vector<BaseState> bases(loop.has_base_estimator() ? wanted : 0);
            std::size_t count;
            {
              py::gil_scoped_release release;  // plain memory writes only while released
              const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(double);
              count = loop.consume_telemetry(wanted, [&](const TelemetrySample& s, std::size_t i) {
                out.cycle[i] = s.cycle;
                out.t[i] = s.t;
                out.state[i] = static_cast<std::uint8_t>(s.state);
                out.reason[i] = static_cast<std::uint16_t>(s.reason);
                out.compute_ns[i] = s.compute_ns;
                out.setpoint_sequence[i] = s.setpoint_sequence;
                out.setpoint_source[i] = static_cast<std::uint8_t>(s.setpoint_source);
                out.setpoint_t_written[i] = s.setpoint_t_written;
                out.setpoint_applied_t[i] = s.setpoint_applied_t;
                out.setpoint_t_target[i] = s.setpoint_t_target;
                std::memcpy(out.q + i * n, s.q.data(), bytes);
                std::memcpy(out.dq + i * n, s.dq.data(), bytes);
                std::memcpy(out.tau_measured + i * n, s.tau_measured.data(), bytes);
                std::memcpy(out.q_ref + i * n, s.q_ref.data(), bytes);
                std::memcpy(out.dq_ref + i * n, s.dq_ref.data(), bytes);
                std::memcpy(out.tau_command + i * n, s.tau_command.data(), bytes);
                if (!bases.empty()) bases[i] = s.base;
              });
            }
            // The ring has a single consumer (this call, under the loop's telemetry mutex), so what was
            // available is still there: count == wanted.
            py::dict d;
            d["cycle"] = cycle;
            d["t"] = t;
            d["state"] = state;
            d["reason"] = reason;
            d["compute_ns"] = compute_ns;
            d["q"] = q;
            d["dq"] = dq;
            d["tau_measured"] = tau_measured;
            d["q_ref"] = q_ref;
            d["dq_ref"] = dq_ref;
            d["tau_command"] = tau_command;
            d["setpoint_sequence"] = setpoint_sequence;
            d["setpoint_source"] = setpoint_source;
            d["setpoint_t_written"] = setpoint_t_written;
            d["setpoint_applied_t"] = setpoint_applied_t;
            d["setpoint_t_target"] = setpoint_t_target;
            if (count != wanted) throw std::logic_error("telemetry ring gave fewer samples than it held");
            if (!bases.empty()) add_base_telemetry(d, bases.data(), count);  // floating base (issue 13)
            return d;
          },
          py::arg("max_count") = 4096)
      .def("drain_events",
           [](ControlLoop& loop) {
             SafetyEvent buffer[256];
             py::list out;
             for (;;) {
               const std::size_t n = loop.drain_events(buffer, 256);
               for (std::size_t i = 0; i < n; ++i) out.append(event_to_dict(buffer[i]));
               if (n < 256) break;
             }
             return out;
           })
      .def("statistics",
           [](ControlLoop& loop) {
             const LoopStatistics s = loop.statistics();
             py::dict d;
             d["cycles"] = s.cycles;
             d["overruns"] = s.overruns;
             d["skipped_periods"] = s.skipped_periods;
             d["telemetry_overflows"] = s.telemetry_overflows;
             d["event_overflows"] = s.event_overflows;
             d["bus_errors"] = s.bus_errors;
             d["realtime_allocations"] = s.realtime_allocations;
             d["wakeup_latency"] = histogram_to_dict(loop.wakeup_latency());
             d["compute_time"] = histogram_to_dict(loop.compute_time());
             return d;
           })
      .def("reset_statistics", &ControlLoop::reset_statistics);

  py::class_<StateReader>(m, "StateReader",
                          "Reusable state reader (humanoid_rt.StateView wraps it): update() refills its arrays in place.")
      .def(py::init([](py::object loop) { return new StateReader(loop, loop.cast<ControlLoop&>()); }), py::arg("loop"))
      .def("update", &StateReader::update, "Refill from the newest snapshot; returns (cycle, t, state code).")
      .def_property_readonly("rows", &StateReader::rows, "(7, n): q, dq, tau_measured, tau_command, q_ref, dq_ref, temperature_c")
      .def_property_readonly("drive_error", &StateReader::drive_error)
      .def_property_readonly("fresh", &StateReader::fresh)
      .def("last_event", [](const StateReader& r) { return event_to_dict(r.last_event()); },
           "The transition that led to the state of the last update().");

  // ---- floating base (issue 13): IMU and foot sensors, base state estimator ----
  {
    auto mock = py::reinterpret_borrow<py::class_<MockBus, Bus, std::shared_ptr<MockBus>>>(m.attr("MockBus"));
    mock.def("drop_imu", &MockBus::drop_imu, py::arg("dropped") = true)
        .def_property_readonly("carries_imu", &MockBus::carries_imu);
    auto mock_options = py::reinterpret_borrow<py::class_<MockBusOptions>>(m.attr("MockBusOptions"));
    mock_options.def_readwrite("imu_gyro_noise_rad_s", &MockBusOptions::imu_gyro_noise_rad_s)
        .def_readwrite("imu_accel_noise_m_s2", &MockBusOptions::imu_accel_noise_m_s2);
    auto twin_options = py::reinterpret_borrow<py::class_<MujocoBusOptions>>(m.attr("MujocoBusOptions"));
    twin_options.def_readwrite("imu_gyro_noise_rad_s", &MujocoBusOptions::imu_gyro_noise_rad_s)
        .def_readwrite("imu_gyro_bias_rad_s", &MujocoBusOptions::imu_gyro_bias_rad_s)
        .def_readwrite("imu_accel_noise_m_s2", &MujocoBusOptions::imu_accel_noise_m_s2)
        .def_readwrite("imu_accel_bias_m_s2", &MujocoBusOptions::imu_accel_bias_m_s2)
        .def_readwrite("imu_orientation_noise_rad", &MujocoBusOptions::imu_orientation_noise_rad);
    auto twin = py::reinterpret_borrow<py::class_<MujocoBus, Bus, std::shared_ptr<MujocoBus>>>(m.attr("MujocoBus"));
    twin.def("set_feet", &MujocoBus::set_feet, py::arg("bodies"))
        .def("drop_imu", &MujocoBus::drop_imu, py::arg("dropped") = true)
        .def_property_readonly("carries_imu", &MujocoBus::carries_imu)
        .def_property_readonly("floating", &MujocoBus::floating)
        .def_property_readonly("floor_height", &MujocoBus::floor_height)
        .def("base_pose", &MujocoBus::base_pose, "Ground truth: (x, y, z, qw, qx, qy, qz) of the free joint.")
        .def("base_twist", &MujocoBus::base_twist,
             "Ground truth: linear velocity (world axes) and angular velocity (base axes) of the free joint.")
        .def("set_base_pose", &MujocoBus::set_base_pose, py::arg("pose"))
        .def("rest_on_floor", &MujocoBus::rest_on_floor)
        .def(
            "read_base_sensors",
            [](MujocoBus& bus) {
              BaseSensors s;
              bus.read_base_sensors(bus.simulation_time(), s);
              py::dict d = imu_to_dict(s.imu);
              py::array_t<double> forces({static_cast<py::ssize_t>(s.n_feet), py::ssize_t(3)});
              for (int i = 0; i < s.n_feet; ++i) std::copy(s.feet[i].force.begin(), s.feet[i].force.end(), forces.mutable_data() + 3 * i);
              d["foot_force"] = forces;
              return d;
            },
            "One IMU/foot reading now (loop stopped; advances the IMU's sequence).");

    py::class_<ContactPointSpec>(m, "ContactPointSpec")
        .def(py::init([](const std::string& frame, std::array<double, 3> offset) { return ContactPointSpec{frame, offset}; }),
             py::arg("frame"), py::arg("offset") = std::array<double, 3>{0.0, 0.0, 0.0})
        .def_readwrite("frame", &ContactPointSpec::frame)
        .def_readwrite("offset", &ContactPointSpec::offset);
    py::class_<BaseEstimatorOptions>(m, "BaseEstimatorOptions")
        .def(py::init<>())
        .def_readwrite("gravity", &BaseEstimatorOptions::gravity)
        .def_readwrite("ground_height", &BaseEstimatorOptions::ground_height)
        .def_readwrite("contact_force_threshold_n", &BaseEstimatorOptions::contact_force_threshold_n)
        .def_readwrite("base_position_noise", &BaseEstimatorOptions::base_position_noise)
        .def_readwrite("base_velocity_noise", &BaseEstimatorOptions::base_velocity_noise)
        .def_readwrite("foot_process_noise", &BaseEstimatorOptions::foot_process_noise)
        .def_readwrite("swing_process_noise", &BaseEstimatorOptions::swing_process_noise)
        .def_readwrite("foot_position_noise", &BaseEstimatorOptions::foot_position_noise)
        .def_readwrite("foot_velocity_noise", &BaseEstimatorOptions::foot_velocity_noise)
        .def_readwrite("foot_height_noise", &BaseEstimatorOptions::foot_height_noise)
        .def_readwrite("swing_measurement_noise", &BaseEstimatorOptions::swing_measurement_noise);
    py::class_<BaseStateEstimator, std::shared_ptr<BaseStateEstimator>>(m, "BaseStateEstimator")
        .def(py::init<const std::string&, const std::vector<std::string>&, const std::string&,
                      const std::vector<ContactPointSpec>&, double, const BaseEstimatorOptions&>(),
             py::arg("urdf_path"), py::arg("joint_names"), py::arg("imu_frame"), py::arg("contacts"), py::arg("period_s"),
             py::arg("options"))
        .def_property_readonly("n_contacts", &BaseStateEstimator::n_contacts)
        .def_property("contact_schedule", &BaseStateEstimator::contact_schedule, &BaseStateEstimator::set_contact_schedule)
        .def("contact_points_in_base",
             [](const BaseStateEstimator& e, const std::vector<double>& q) {
               const auto points = e.contact_points_in_base(q);
               py::array_t<double> out({static_cast<py::ssize_t>(e.n_contacts()), py::ssize_t(3)});
               std::copy(points.begin(), points.end(), out.mutable_data());
               return out;
             },
             py::arg("q"));

    auto loop = py::reinterpret_borrow<py::class_<ControlLoop>>(m.attr("ControlLoop"));
    loop.def("set_base_sensing", &ControlLoop::set_base_sensing, py::arg("estimator"), py::arg("imu_stale_cycles"),
             py::arg("imu_from_device"))
        .def(
            "write_imu",
            [](ControlLoop& l, std::array<double, 4> orientation, std::array<double, 3> gyro, std::array<double, 3> accel,
               double t) {
              ImuSample sample;
              sample.orientation = orientation;
              sample.gyro = gyro;
              sample.accel = accel;
              sample.t = t;
              l.write_imu(sample);
            },
            py::arg("orientation"), py::arg("gyro"), py::arg("accel"), py::arg("t") = 0.0,
            "A real IMU's sample (orientation w-x-y-z world_R_imu, gyro rad/s and specific force m/s^2 in IMU axes).")
        .def("read_base_state", [](ControlLoop& l) {
          const StateSnapshot s = l.read_state();
          py::dict d = base_state_to_dict(s.base);
          d["cycle"] = s.cycle;
          d["t"] = s.t;
          d["imu"] = imu_to_dict(s.imu);
          const int nc = s.base.n_contacts;
          py::array_t<double> forces({static_cast<py::ssize_t>(nc), py::ssize_t(3)});
          for (int i = 0; i < nc; ++i) std::copy(s.feet[i].force.begin(), s.feet[i].force.end(), forces.mutable_data() + 3 * i);
          d["foot_force"] = forces;
          return d;
        });
  }
  // ---- end floating base ----

  m.def("joint_impedance_torque", &joint_impedance_torque, py::arg("kp"), py::arg("kd"), py::arg("q_d"),
        py::arg("dq_d"), py::arg("tau_ff"), py::arg("q"), py::arg("dq"));
  m.def(
      "pack_drive_impedance",
      [](double kp, double kd, double q_d, double dq_d, double tau_ff, double q, double dq, double tau_safe,
         const JointTransmission& transmission) {
        JointCommand joint{}, motor{};
        pack_drive_impedance(0, kp, kd, q_d, dq_d, tau_ff, q, dq, tau_safe, joint);
        Transmission t;
        t.set(0, transmission);
        t.command_to_motor(1, joint, motor);
        py::dict d;
        d["q"] = motor.q[0];
        d["dq"] = motor.dq[0];
        d["kp"] = motor.kp[0];
        d["kd"] = motor.kd[0];
        d["tau_ff"] = motor.tau[0];
        return d;
      },
      py::arg("kp"), py::arg("kd"), py::arg("q_d"), py::arg("dq_d"), py::arg("tau_ff"), py::arg("q"), py::arg("dq"),
      py::arg("tau_safe"), py::arg("transmission") = JointTransmission{},
      "Drive-side (MIT-style) command for one joint, motor side: what a drive receives.");
  m.def(
      "histogram_quantile_us",
      [](const std::vector<double>& samples_us, double q) {
        LatencyHistogram h;
        for (double s : samples_us) h.record(static_cast<std::int64_t>(std::llround(s * 1e3)));
        return h.quantile_ns(q) / 1e3;
      },
      py::arg("samples_us"), py::arg("q"), "Quantile of samples through the loop's histogram (for tests and tools).");

  // ---- CAN ----
  {
    namespace hc = humanoid_rt::can;
    py::module_ c = m.def_submodule("can", "CAN / CAN-FD bus of MIT-family actuators and its pure codecs.");
    py::enum_<hc::Protocol>(c, "Protocol")
        .value("MIT_REFERENCE", hc::Protocol::kMitReference)
        .value("CUBEMARS", hc::Protocol::kCubeMars)
        .value("DAMIAO", hc::Protocol::kDamiao)
        .value("ROBSTRIDE", hc::Protocol::kRobstride)
        .value("MYACTUATOR", hc::Protocol::kMyActuator);
    py::enum_<hc::Special>(c, "Special")
        .value("ENTER", hc::Special::kEnter)
        .value("EXIT", hc::Special::kExit)
        .value("ZERO", hc::Special::kZero)
        .value("CLEAR_ERROR", hc::Special::kClearError);
    py::class_<hc::MitRanges>(c, "MitRanges")
        .def(py::init<>())
        .def(py::init([](float p, float v, float kp, float kd, float t) { return hc::MitRanges{p, v, kp, kd, t}; }),
             py::arg("p_max"), py::arg("v_max"), py::arg("kp_max"), py::arg("kd_max"), py::arg("t_max"))
        .def_readwrite("p_max", &hc::MitRanges::p_max)
        .def_readwrite("v_max", &hc::MitRanges::v_max)
        .def_readwrite("kp_max", &hc::MitRanges::kp_max)
        .def_readwrite("kd_max", &hc::MitRanges::kd_max)
        .def_readwrite("t_max", &hc::MitRanges::t_max);
    c.def("default_ranges", &hc::default_ranges, py::arg("protocol"));
    py::class_<hc::CanBusOptions>(c, "CanBusOptions")
        .def(py::init<>())
        .def_readwrite("fd", &hc::CanBusOptions::fd)
        .def_readwrite("bit_rate_switch", &hc::CanBusOptions::bit_rate_switch)
        .def_readwrite("reply_timeout_s", &hc::CanBusOptions::reply_timeout_s)
        .def_readwrite("stepped_reply_timeout_s", &hc::CanBusOptions::stepped_reply_timeout_s)
        .def_readwrite("setup_timeout_s", &hc::CanBusOptions::setup_timeout_s);
    py::class_<hc::CanDevice>(c, "CanDevice")
        .def(py::init([](int joint, hc::Protocol protocol, std::uint32_t device_id, std::uint32_t host_id,
                         const hc::MitRanges& ranges) { return hc::CanDevice{joint, protocol, device_id, host_id, ranges}; }),
             py::arg("joint"), py::arg("protocol"), py::arg("device_id"), py::arg("host_id"), py::arg("ranges"))
        .def_readonly("joint", &hc::CanDevice::joint)
        .def_readonly("protocol", &hc::CanDevice::protocol)
        .def_readonly("device_id", &hc::CanDevice::device_id)
        .def_readonly("host_id", &hc::CanDevice::host_id)
        .def_readonly("ranges", &hc::CanDevice::ranges);
    py::class_<hc::CanBus, Bus, std::shared_ptr<hc::CanBus>>(c, "CanBus")
        .def(py::init<std::string, int, const hc::CanBusOptions&>(), py::arg("name"), py::arg("fd"), py::arg("options"),
             "Takes ownership of fd: a PF_CAN socket or one end of an AF_UNIX SOCK_SEQPACKET socketpair.")
        .def_static("open_socketcan", &hc::CanBus::open_socketcan, py::arg("name"), py::arg("interface"), py::arg("options"))
        .def("add_device", &hc::CanBus::add_device, py::arg("device"))
        .def("set_realtime", &hc::CanBus::set_realtime, py::arg("realtime"))
        .def("zero_position", &hc::CanBus::zero_position, py::arg("joint"), py::call_guard<py::gil_scoped_release>())
        .def("missed_replies", &hc::CanBus::missed_replies, py::arg("joint"))
        .def_property_readonly("fd", &hc::CanBus::fd)
        .def_property_readonly("devices", &hc::CanBus::devices)
        .def("statistics", [](const hc::CanBus& bus) {
          const hc::CanBusStatistics s = bus.statistics();
          py::dict d;
          d["cycles"] = s.cycles;
          d["frames_sent"] = s.frames_sent;
          d["frames_received"] = s.frames_received;
          d["replies"] = s.replies;
          d["missed_replies"] = s.missed_replies;
          d["extra_replies"] = s.extra_replies;
          d["rejected_wrong_id"] = s.rejected_wrong_id;
          d["rejected_malformed"] = s.rejected_malformed;
          d["send_errors"] = s.send_errors;
          d["waits"] = s.waits;
          d["max_wait_us"] = static_cast<double>(s.max_wait_ns) / 1e3;
          d["special_frames"] = s.special_frames;
          return d;
        });

    // Virtual motors answered from C++ (real-time runs; see drivers/can/virtual_motors.hpp).
    py::class_<hc::VirtualMotorModel>(c, "VirtualMotorModel")
        .def(py::init<>())
        .def_readwrite("inertia_kgm2", &hc::VirtualMotorModel::inertia_kgm2)
        .def_readwrite("viscous_nm_s_rad", &hc::VirtualMotorModel::viscous_nm_s_rad)
        .def_readwrite("coulomb_nm", &hc::VirtualMotorModel::coulomb_nm)
        .def_readwrite("torque_limit_nm", &hc::VirtualMotorModel::torque_limit_nm)
        .def_readwrite("ambient_temperature_c", &hc::VirtualMotorModel::ambient_temperature_c)
        .def_readwrite("substeps", &hc::VirtualMotorModel::substeps);
    py::class_<hc::VirtualMotorState>(c, "VirtualMotorState")
        .def(py::init<>())
        .def_readwrite("joint", &hc::VirtualMotorState::joint)
        .def_readwrite("protocol", &hc::VirtualMotorState::protocol)
        .def_readwrite("device_id", &hc::VirtualMotorState::device_id)
        .def_readwrite("host_id", &hc::VirtualMotorState::host_id)
        .def_readwrite("p_max", &hc::VirtualMotorState::p_max)
        .def_readwrite("v_max", &hc::VirtualMotorState::v_max)
        .def_readwrite("kp_max", &hc::VirtualMotorState::kp_max)
        .def_readwrite("kd_max", &hc::VirtualMotorState::kd_max)
        .def_readwrite("t_max", &hc::VirtualMotorState::t_max)
        .def_readwrite("model", &hc::VirtualMotorState::model)
        .def_readwrite("q", &hc::VirtualMotorState::q)
        .def_readwrite("dq", &hc::VirtualMotorState::dq)
        .def_readwrite("tau", &hc::VirtualMotorState::tau)
        .def_readwrite("enabled", &hc::VirtualMotorState::enabled)
        .def_readwrite("commands", &hc::VirtualMotorState::commands)
        .def_readwrite("zero_offset", &hc::VirtualMotorState::zero_offset)
        .def_readwrite("no_reply", &hc::VirtualMotorState::no_reply)
        .def_readwrite("wrong_id", &hc::VirtualMotorState::wrong_id)
        .def_readwrite("garbled", &hc::VirtualMotorState::garbled)
        .def_readwrite("temperature_c", &hc::VirtualMotorState::temperature_c)
        .def_readwrite("error_code", &hc::VirtualMotorState::error_code);
    py::class_<hc::VirtualMotorResponder, std::shared_ptr<hc::VirtualMotorResponder>>(c, "VirtualMotorResponder")
        .def(py::init<std::string, int, bool, double, std::uint64_t>(), py::arg("name"), py::arg("fd"),
             py::arg("fd_frames"), py::arg("period_s"), py::arg("seed"),
             "Takes ownership of fd: the device end of a SOCK_SEQPACKET socketpair.")
        .def("add_motor", &hc::VirtualMotorResponder::add_motor, py::arg("motor"))
        .def("start", &hc::VirtualMotorResponder::start, py::arg("priority") = 0, py::arg("cpu") = -1)
        .def("stop", &hc::VirtualMotorResponder::stop, py::call_guard<py::gil_scoped_release>())
        .def_property_readonly("running", &hc::VirtualMotorResponder::running)
        .def("sync", &hc::VirtualMotorResponder::sync, py::arg("timeout_s") = 5.0,
             py::call_guard<py::gil_scoped_release>())
        .def("motors", &hc::VirtualMotorResponder::motors)
        .def("set_faults", &hc::VirtualMotorResponder::set_faults, py::arg("joint"), py::arg("no_reply"),
             py::arg("wrong_id"), py::arg("garbled"), py::arg("temperature_c"), py::arg("error_code"))
        .def("statistics",
             [](const hc::VirtualMotorResponder& r) {
               const hc::VirtualResponderStatistics s = r.statistics();
               py::dict d;
               d["frames_in"] = s.frames_in;
               d["frames_out"] = s.frames_out;
               d["ignored"] = s.ignored;
               return d;
             })
        .def(
            "handle",
            [](hc::VirtualMotorResponder& r, std::uint32_t can_id, bool extended, const py::bytes& payload) {
              const std::string data = payload;
              if (data.size() > 64) throw py::value_error("payload: at most 64 bytes");
              hc::Frame f;
              f.id = can_id;
              f.extended = extended;
              f.len = static_cast<std::uint8_t>(data.size());
              std::memcpy(f.data, data.data(), data.size());
              std::vector<hc::Frame> out;
              r.handle(f, out);
              py::list replies;
              for (const hc::Frame& o : out)
                replies.append(py::make_tuple(o.id, o.extended, py::bytes(reinterpret_cast<const char*>(o.data), o.len)));
              return replies;
            },
            py::arg("can_id"), py::arg("extended"), py::arg("payload"),
            "Serve one frame without I/O (responder not running); returns [(can_id, extended, payload)].");

    // CANopen CiA 402 drives (drivers/can/cia402.hpp).
    py::enum_<hc::Cia402State>(c, "Cia402State")
        .value("NOT_READY_TO_SWITCH_ON", hc::Cia402State::kNotReadyToSwitchOn)
        .value("SWITCH_ON_DISABLED", hc::Cia402State::kSwitchOnDisabled)
        .value("READY_TO_SWITCH_ON", hc::Cia402State::kReadyToSwitchOn)
        .value("SWITCHED_ON", hc::Cia402State::kSwitchedOn)
        .value("OPERATION_ENABLED", hc::Cia402State::kOperationEnabled)
        .value("QUICK_STOP_ACTIVE", hc::Cia402State::kQuickStopActive)
        .value("FAULT_REACTION_ACTIVE", hc::Cia402State::kFaultReactionActive)
        .value("FAULT", hc::Cia402State::kFault);
    // One registration of the shared CiA 402 modes (CANopen and EtherCAT): _core.Cia402Mode, also _core.can.Cia402Mode.
    py::enum_<hc::Cia402Mode>(m, "Cia402Mode")
        .value("CSP", hc::Cia402Mode::kCsp)
        .value("CSV", hc::Cia402Mode::kCsv)
        .value("CST", hc::Cia402Mode::kCst);
    c.attr("Cia402Mode") = m.attr("Cia402Mode");
    c.def("decode_statusword", &hc::decode_statusword, py::arg("statusword"));
    c.def("next_controlword", &hc::next_controlword, py::arg("state"), py::arg("torque_on"), py::arg("stop_category"),
          py::arg("fault_reset"), py::arg("reset_phase"));
    py::class_<hc::Cia402Device>(c, "Cia402Device")
        .def(py::init([](int joint, int node_id, hc::Cia402Mode mode, double counts_per_rad, double rated_torque_nm) {
               if (node_id < 1 || node_id > 127) throw py::value_error("node_id: must be in 1..127");
               return hc::Cia402Device{joint, static_cast<std::uint8_t>(node_id), mode, counts_per_rad, rated_torque_nm};
             }),
             py::arg("joint"), py::arg("node_id"), py::arg("mode"), py::arg("counts_per_rad"), py::arg("rated_torque_nm"));
    py::class_<hc::Cia402BusOptions>(c, "Cia402BusOptions")
        .def(py::init<>())
        .def_readwrite("fd", &hc::Cia402BusOptions::fd)
        .def_readwrite("reply_timeout_s", &hc::Cia402BusOptions::reply_timeout_s)
        .def_readwrite("stepped_reply_timeout_s", &hc::Cia402BusOptions::stepped_reply_timeout_s)
        .def_readwrite("stop_category", &hc::Cia402BusOptions::stop_category)
        .def_readwrite("enable_timeout_cycles", &hc::Cia402BusOptions::enable_timeout_cycles);
    py::class_<hc::Cia402Bus, Bus, std::shared_ptr<hc::Cia402Bus>>(c, "Cia402Bus")
        .def(py::init<std::string, int, const hc::Cia402BusOptions&>(), py::arg("name"), py::arg("fd"),
             py::arg("options"), "Takes ownership of fd (drives already configured over SDO and NMT operational).")
        .def("add_device", &hc::Cia402Bus::add_device, py::arg("device"))
        .def("set_realtime", &hc::Cia402Bus::set_realtime, py::arg("realtime"))
        .def("request_fault_reset", &hc::Cia402Bus::request_fault_reset)
        .def_property_readonly("fault_reset_pending", &hc::Cia402Bus::fault_reset_pending)
        .def("state", &hc::Cia402Bus::state, py::arg("joint"))
        .def("statusword", &hc::Cia402Bus::statusword, py::arg("joint"))
        .def("controlword", &hc::Cia402Bus::controlword, py::arg("joint"))
        .def("statistics", [](const hc::Cia402Bus& bus) {
          const hc::Cia402BusStatistics s = bus.statistics();
          py::dict d;
          d["cycles"] = s.cycles;
          d["frames_sent"] = s.frames_sent;
          d["frames_received"] = s.frames_received;
          d["replies"] = s.replies;
          d["missed_replies"] = s.missed_replies;
          d["rejected"] = s.rejected;
          d["rejected_wrong_id"] = s.rejected;
          d["rejected_malformed"] = 0;
          d["emergencies"] = s.emergencies;
          d["send_errors"] = s.send_errors;
          d["max_wait_us"] = static_cast<double>(s.max_wait_ns) / 1e3;
          d["special_frames"] = 0;
          return d;
        });

    auto frame_tuple = [](const hc::Frame& f) {
      return py::make_tuple(f.id, f.extended, py::bytes(reinterpret_cast<const char*>(f.data), f.len));
    };
    c.def("float_to_uint", &hc::float_to_uint, py::arg("x"), py::arg("x_min"), py::arg("x_max"), py::arg("bits"));
    c.def("uint_to_float", &hc::uint_to_float, py::arg("x"), py::arg("x_min"), py::arg("x_max"), py::arg("bits"));
    c.def(
        "encode_command",
        [frame_tuple](hc::Protocol p, const hc::MitRanges& r, std::uint32_t device_id, std::uint32_t host_id, double q,
                      double dq, double kp, double kd, double tau) {
          hc::Frame f;
          hc::encode_command(p, r, device_id, host_id, q, dq, kp, kd, tau, f);
          return frame_tuple(f);
        },
        py::arg("protocol"), py::arg("ranges"), py::arg("device_id"), py::arg("host_id"), py::arg("q"), py::arg("dq"),
        py::arg("kp"), py::arg("kd"), py::arg("tau"), "Command frame as (can_id, extended, payload).");
    c.def(
        "encode_special",
        [frame_tuple](hc::Protocol p, hc::Special kind, std::uint32_t device_id, std::uint32_t host_id) -> py::object {
          hc::Frame f;
          if (!hc::encode_special(p, kind, device_id, host_id, f)) return py::none();
          return frame_tuple(f);
        },
        py::arg("protocol"), py::arg("kind"), py::arg("device_id"), py::arg("host_id"));
    c.def(
        "reply_id",
        [](hc::Protocol p, std::uint32_t device_id, std::uint32_t host_id) {
          bool extended = false;
          const std::uint32_t id = hc::reply_id(p, device_id, host_id, &extended);
          return py::make_tuple(id, extended);
        },
        py::arg("protocol"), py::arg("device_id"), py::arg("host_id"));
    c.def(
        "decode_reply",
        [](hc::Protocol p, const hc::MitRanges& r, std::uint32_t device_id, std::uint32_t can_id, bool extended,
           const py::bytes& payload) {
          const std::string data = payload;
          if (data.size() > 64) throw py::value_error("payload: at most 64 bytes (got " + std::to_string(data.size()) + ")");
          hc::Frame f;
          f.id = can_id;
          f.extended = extended;
          f.len = static_cast<std::uint8_t>(data.size());
          std::memcpy(f.data, data.data(), data.size());
          hc::Reply out;
          const hc::DecodeResult result = hc::decode_reply(p, r, device_id, f, out);
          if (result == hc::DecodeResult::kMalformed)
            throw py::value_error(std::string("frame: malformed for protocol ") + hc::to_string(p));
          if (result == hc::DecodeResult::kWrongId)
            throw py::value_error("frame: names another device than " + std::to_string(device_id));
          py::dict d;
          d["device_id"] = out.device_id;
          d["q"] = out.q;
          d["dq"] = out.dq;
          d["tau"] = out.tau;
          d["temperature_c"] = out.temperature_c;
          d["error"] = out.error;
          return d;
        },
        py::arg("protocol"), py::arg("ranges"), py::arg("device_id"), py::arg("can_id"), py::arg("extended"),
        py::arg("payload"));
    c.def(
        "codec_cycle",
        [](hc::Protocol p, int motors, int iterations) {
          // Encode one command and decode one reply per motor, `iterations` times (benchmarks).
          const hc::MitRanges r = hc::default_ranges(p);
          hc::Frame reply;
          hc::encode_command(p, r, 1, 0, 0.1, 0.2, 10.0, 1.0, 0.5, reply);
          bool ext = false;
          reply.id = hc::reply_id(p, 1, 0, &ext);
          reply.extended = ext;
          reply.data[0] = 1;
          double sink = 0.0;
          {
            py::gil_scoped_release release;
            for (int i = 0; i < iterations; ++i) {
              for (int k = 0; k < motors; ++k) {
                hc::Frame f;
                hc::encode_command(p, r, 1, 0, 0.001 * k, 0.2, 10.0, 1.0, 0.5 + i * 1e-6, f);
                hc::Reply out;
                hc::decode_reply(p, r, 1, reply, out);
                sink += out.q + f.data[1];
              }
            }
          }
          return sink;
        },
        py::arg("protocol"), py::arg("motors"), py::arg("iterations"));
  }

  py::module_ testing = m.def_submodule("testing", "Concurrency self-tests of the lock-free primitives.");
  testing.def("stress_triple_buffer", &stress_triple_buffer, py::arg("iterations"));
  testing.def("stress_spsc_ring", &stress_spsc_ring, py::arg("iterations"), py::arg("capacity"));
  testing.def(
      "allocate_while_realtime",
      [](int count) {
        RealtimeScope realtime;
        for (int i = 0; i < count; ++i) delete new std::vector<double>(8);  // two allocations each
      },
      py::arg("count"), "Allocates on a thread marked real-time: proves the allocation monitor counts.");
  testing.def("realtime_allocations", &realtime_allocations);
  testing.def(
      "interpolate",
      [](double q0, double v0, double q1, double v1, double t_target, double t) {
        SetpointInterpolator interpolator;
        JointVector start{}, velocity{}, q{}, dq{};
        start[0] = q0;
        velocity[0] = v0;
        interpolator.reset(1, 0.0, start);
        JointSetpoint target;
        target.q[0] = q1;
        target.dq[0] = v1;
        target.has_velocity = true;
        target.t_target = t_target;
        interpolator.set_target(0.0, start, velocity, target);
        interpolator.sample(t, q, dq);
        return py::make_tuple(q[0], dq[0]);
      },
      py::arg("q0"), py::arg("v0"), py::arg("q1"), py::arg("v1"), py::arg("t_target"), py::arg("t"),
      "One joint's interpolated (q, dq) at t for a segment from (q0, v0) at 0 to (q1, v1) at t_target.");

  // ---- teleop ----
  // The teleop codec as pure functions (tests, fuzzing) and the C++ receiver thread.
  {
    namespace tp = humanoid_rt::teleop;
    py::module_ t = m.def_submodule("teleop", "Teleop wire protocol (firmware_interfaces/teleop/PROTOCOL.md) and receiver.");
    auto bytes_of = [](const py::bytes& b) {
      char* data = nullptr;
      py::ssize_t len = 0;
      PyBytes_AsStringAndSize(b.ptr(), &data, &len);
      return std::pair<const std::uint8_t*, std::size_t>(reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(len));
    };
    py::list reasons;
    for (int r = 0; r < static_cast<int>(tp::Reject::kCount); ++r) reasons.append(tp::to_string(static_cast<tp::Reject>(r)));
    t.attr("REJECT_REASONS") = reasons;  // index = the reason code
    t.attr("MAX_PACKET_BYTES") = tp::kMaxPacketBytes;
    t.attr("MIN_PACKET_BYTES") = tp::kMinPacketBytes;
    t.def("sha256", [bytes_of](const py::bytes& data) {
      auto [p, n] = bytes_of(data);
      const tp::Digest d = tp::sha256(p, n);
      return py::bytes(reinterpret_cast<const char*>(d.data()), d.size());
    }, py::arg("data"));
    t.def("hmac_sha256", [bytes_of](const py::bytes& key, const py::bytes& data) {
      auto [k, kn] = bytes_of(key);
      auto [p, n] = bytes_of(data);
      const tp::Digest d = tp::HmacSha256(k, kn).compute(p, n);
      return py::bytes(reinterpret_cast<const char*>(d.data()), d.size());
    }, py::arg("key"), py::arg("data"));
    t.def("parse", [bytes_of](const py::bytes& data, const py::bytes& key) {
      auto [k, kn] = bytes_of(key);
      auto [p, n] = bytes_of(data);
      tp::Packet packet;
      const tp::ParseResult r = tp::parse_packet(p, n, tp::HmacSha256(k, kn), packet);
      py::dict d;
      d["reason"] = tp::to_string(r.reject);
      d["message"] = std::string(r.message);
      if (!r.ok()) return d;
      d["kind"] = static_cast<int>(packet.kind);
      d["flags"] = packet.flags;
      d["estop"] = packet.estop();
      d["session_id"] = packet.session_id;
      d["sequence"] = packet.sequence;
      d["sender_time_ns"] = packet.sender_time_ns;
      d["due_in_us"] = packet.due_in_us;
      d["ttl_us"] = packet.ttl_us;
      py::list records;
      for (int i = 0; i < packet.count; ++i) {
        py::dict rec;
        if (packet.kind == tp::Kind::kJoints) {
          const auto& j = packet.joints[i];
          rec["index"] = j.index, rec["q"] = j.q, rec["dq"] = j.dq, rec["tau_ff"] = j.tau_ff, rec["kp"] = j.kp, rec["kd"] = j.kd;
        } else if (packet.kind == tp::Kind::kFramePoses) {
          const auto& f = packet.poses[i];
          rec["frame_id"] = f.frame_id;
          rec["position"] = py::make_tuple(f.position[0], f.position[1], f.position[2]);
          rec["quaternion"] = py::make_tuple(f.quaternion[0], f.quaternion[1], f.quaternion[2], f.quaternion[3]);
        } else {
          rec["hand"] = packet.hands[i].hand, rec["grip"] = packet.hands[i].grip;
        }
        records.append(rec);
      }
      d["records"] = records;
      return d;
    }, py::arg("data"), py::arg("key"), "Parse one datagram; returns reason ('none' when accepted), message and fields.");
    t.def("parse_batch", [bytes_of](const py::list& packets, const py::bytes& key, bool resign) {
      // For fuzzing: parse many inputs per call. resign=True first overwrites the last 32 bytes of
      // inputs >= 80 bytes with their correct tag, so mutated packets reach the field checks.
      auto [k, kn] = bytes_of(key);
      const tp::HmacSha256 hmac(k, kn);
      py::array_t<std::uint8_t> codes(static_cast<py::ssize_t>(packets.size()));
      std::vector<std::uint8_t> copy(tp::kMaxPacketBytes + 4096);
      tp::Packet packet;
      for (std::size_t i = 0; i < packets.size(); ++i) {
        auto [p, n] = bytes_of(packets[i].cast<py::bytes>());
        const std::uint8_t* input = p;
        if (resign && n >= tp::kMinPacketBytes && n <= copy.size()) {
          std::copy(p, p + n, copy.begin());
          const tp::Digest tag = hmac.compute(copy.data(), n - tp::kTagBytes);
          std::copy(tag.begin(), tag.end(), copy.begin() + (n - tp::kTagBytes));
          input = copy.data();
        }
        codes.mutable_data()[i] = static_cast<std::uint8_t>(tp::parse_packet(input, n, hmac, packet).reject);
      }
      return codes;
    }, py::arg("packets"), py::arg("key"), py::arg("resign") = false);

    py::class_<tp::Receiver>(t, "Receiver")
        .def(py::init([bytes_of](ControlLoop& loop, const py::bytes& key, const std::string& host, int port, int priority,
                                 double start_gate_rad, double ramp_velocity_fraction, double velocity_fraction,
                                 double max_step_rad, int replay_window, double poll_timeout_s,
                                 const std::vector<std::tuple<int, int, double, double>>& hand_joints,
                                 double pose_start_gate_m, double pose_start_gate_rad,
                                 std::optional<std::array<double, 6>> pose_stiffness,
                                 std::optional<std::array<double, 6>> pose_damping) {
               tp::ReceiverOptions o;
               auto [k, kn] = bytes_of(key);
               o.key.assign(k, k + kn);
               o.host = host, o.port = port, o.priority = priority, o.start_gate_rad = start_gate_rad;
               o.ramp_velocity_fraction = ramp_velocity_fraction, o.velocity_fraction = velocity_fraction;
               o.max_step_rad = max_step_rad, o.replay_window = replay_window, o.poll_timeout_s = poll_timeout_s;
               for (const auto& [hand, joint, open_q, closed_q] : hand_joints) o.hand_joints.push_back({hand, joint, open_q, closed_q});
               o.pose_start_gate_m = pose_start_gate_m, o.pose_start_gate_rad = pose_start_gate_rad;
               if (pose_stiffness) o.pose_stiffness = *pose_stiffness;
               if (pose_damping) o.pose_damping = *pose_damping;
               return std::make_unique<tp::Receiver>(loop, o);
             }),
             py::arg("loop"), py::arg("key"), py::arg("host") = "127.0.0.1", py::arg("port") = 0, py::arg("priority") = 0,
             py::arg("start_gate_rad") = 0.8, py::arg("ramp_velocity_fraction") = 0.25, py::arg("velocity_fraction") = 1.0,
             py::arg("max_step_rad") = 0.5, py::arg("replay_window") = 64, py::arg("poll_timeout_s") = 0.002,
             py::arg("hand_joints") = std::vector<std::tuple<int, int, double, double>>{},
             py::arg("pose_start_gate_m") = 0.3, py::arg("pose_start_gate_rad") = 0.8,
             py::arg("pose_stiffness") = std::nullopt, py::arg("pose_damping") = std::nullopt,
             py::keep_alive<1, 2>())
        .def("start", &tp::Receiver::start)
        .def("stop", &tp::Receiver::stop, py::call_guard<py::gil_scoped_release>())
        .def_property_readonly("port", &tp::Receiver::port)
        .def_property_readonly("running", &tp::Receiver::running)
        .def_property_readonly("sched_fifo", &tp::Receiver::sched_fifo)
        .def("statistics", [](const tp::Receiver& r) {
          const tp::ReceiverStatistics s = r.statistics();
          py::dict d, rejected;
          d["received"] = s.received;
          d["accepted"] = s.accepted;
          for (int i = 1; i < static_cast<int>(tp::Reject::kCount); ++i)
            rejected[tp::to_string(static_cast<tp::Reject>(i))] = s.rejected[i];
          d["rejected"] = rejected;
          d["rejected_total"] = std::accumulate(s.rejected.begin(), s.rejected.end(), std::uint64_t{0});
          d["gaps"] = s.gaps;
          d["estops"] = s.estops;
          d["setpoints_written"] = s.setpoints_written;
          d["setpoints_applied"] = s.setpoints_applied;
          d["setpoints_superseded"] = s.setpoints_superseded;
          d["poses_applied"] = s.poses_applied;
          d["pose_engagements"] = s.pose_engagements;
          d["hand_unsupported"] = s.hand_unsupported;
          d["clipped_velocity"] = s.clipped_velocity;
          d["clipped_step"] = s.clipped_step;
          d["clipped_gains"] = s.clipped_gains;
          d["ramp_packets"] = s.ramp_packets;
          d["engagements"] = s.engagements;
          d["engaged"] = s.engaged;
          d["session_id"] = s.session_id;
          d["last_sequence"] = s.last_sequence;
          d["unshared_clock"] = s.unshared_clock;
          d["latency_send_to_receive"] = histogram_to_dict(r.transit_latency());
          d["latency_receive_to_applied"] = histogram_to_dict(r.applied_latency());
          d["last_rejection"] = r.last_rejection();
          d["last_unsupported"] = r.last_unsupported();
          return d;
        });
  }
  // ---- end teleop ----
  // ---- EtherCAT ----
  {
    namespace c4 = humanoid_rt::cia402;
    m.def("cia402_decode_statusword", [](std::uint16_t sw) { return std::string(c4::state_name(c4::decode_statusword(sw))); },
          py::arg("statusword"));
    m.def("cia402_next_controlword", [](std::uint16_t sw, bool enable, bool fault_reset) {
      return c4::next_controlword(c4::decode_statusword(sw), enable, fault_reset);
    }, py::arg("statusword"), py::arg("enable"), py::arg("fault_reset") = false);
    m.def("cia402_quick_stop_option", &c4::quick_stop_option_for_category, py::arg("stop_category"));
    py::class_<EthercatSlaveSpec>(m, "EthercatSlaveSpec")
        .def(py::init([](int position, std::uint32_t vendor_id, std::uint32_t product_code) {
          return EthercatSlaveSpec{position, vendor_id, product_code};
        }), py::arg("position"), py::arg("vendor_id"), py::arg("product_code"))
        .def_readwrite("position", &EthercatSlaveSpec::position)
        .def_readwrite("vendor_id", &EthercatSlaveSpec::vendor_id)
        .def_readwrite("product_code", &EthercatSlaveSpec::product_code);
    py::class_<EthercatBusOptions>(m, "EthercatBusOptions")
        .def(py::init<>())
        .def_readwrite("interface", &EthercatBusOptions::interface)
        .def_readwrite("slaves", &EthercatBusOptions::slaves)
        .def_readwrite("receive_timeout_us", &EthercatBusOptions::receive_timeout_us)
        .def_readwrite("wkc_tolerance", &EthercatBusOptions::wkc_tolerance)
        .def_readwrite("frame_timeout_us", &EthercatBusOptions::frame_timeout_us)
        .def_readwrite("distributed_clocks", &EthercatBusOptions::distributed_clocks)
        .def_readwrite("stop_category", &EthercatBusOptions::stop_category)
        .def_readwrite("state_timeout_s", &EthercatBusOptions::state_timeout_s);
    py::class_<EthercatBus, Bus, std::shared_ptr<EthercatBus>>(m, "EthercatBus")
        .def(py::init<std::string, EthercatBusOptions>(), py::arg("name"), py::arg("options"))
        .def("add_drive", &EthercatBus::add_drive, py::arg("joint"), py::arg("slave_position"), py::arg("mode"))
        .def("fault_reset", &EthercatBus::fault_reset)
        .def("describe", &EthercatBus::describe)
        .def("drive_state", [](const EthercatBus& b, int joint) {
          return std::string(c4::state_name(static_cast<c4::State>(b.drive_state(joint))));
        }, py::arg("joint"))
        .def("drive_error_code", &EthercatBus::drive_error_code, py::arg("joint"))
        .def("rated_torque_nm", &EthercatBus::rated_torque_nm, py::arg("joint"))
        .def("counts_per_rad", &EthercatBus::counts_per_rad, py::arg("joint"))
        .def("reset_statistics", &EthercatBus::reset_statistics)
        .def("statistics", [](const EthercatBus& b) {
          const EthercatStatistics s = b.statistics();
          py::dict d;
          d["cycles"] = s.cycles;
          d["frames_sent"] = s.frames_sent;
          d["lost_frames"] = s.lost_frames;
          d["wkc_errors"] = s.wkc_errors;
          d["bus_faults"] = s.bus_faults;
          d["expected_wkc"] = s.expected_wkc;
          d["last_wkc"] = s.last_wkc;
          d["dc_slaves"] = s.dc_slaves;
          d["dc_time_ns"] = s.dc_time_ns;
          d["round_trip"] = histogram_to_dict(b.round_trip());
          return d;
        });

    // The virtual slave line (drivers/ethercat/virtual_slave): run by src/humanoid_rt/ethercat/emulator.py
    // inside the network namespace; process_frame() lets tests feed it frames without a network.
    namespace ev = humanoid_rt::ethercat_virtual;
    py::class_<ev::DriveParams>(m, "VirtualDriveParams")
        .def(py::init<>())
        .def_readwrite("vendor_id", &ev::DriveParams::vendor_id)
        .def_readwrite("product_code", &ev::DriveParams::product_code)
        .def_readwrite("rated_torque_mnm", &ev::DriveParams::rated_torque_mnm)
        .def_readwrite("counts_per_rev", &ev::DriveParams::counts_per_rev)
        .def_readwrite("inertia_kgm2", &ev::DriveParams::inertia_kgm2)
        .def_readwrite("viscous_nm_s_rad", &ev::DriveParams::viscous_nm_s_rad);
    m.def("virtual_drive_pdos", [] {
      py::dict d;
      for (const auto* table : {&ev::rx_pdos(), &ev::tx_pdos()}) {
        for (const auto& pdo : *table) {
          py::list entries;
          for (const auto& e : pdo.entries) entries.append(py::make_tuple(e.index, e.sub, e.bits));
          d[py::int_(pdo.index)] = entries;
        }
      }
      return d;
    }, "PDO index -> [(object index, subindex, bit length)] of the virtual drive (0 = padding)");
    py::class_<ev::SlaveLine>(m, "VirtualEthercatLine")
        .def(py::init<const std::vector<ev::DriveParams>&, double>(), py::arg("drives"), py::arg("period_s"))
        .def("__len__", &ev::SlaveLine::size)
        .def("process_frame", [](ev::SlaveLine& line, py::bytes frame) -> py::object {
          std::string buffer = frame;
          if (!line.process(reinterpret_cast<std::uint8_t*>(buffer.data()), buffer.size(), ev::Esc::monotonic_ns()))
            return py::none();
          return py::bytes(buffer);
        }, py::arg("frame"), "one Ethernet frame in, the frame the line sends back out (None: lost)")
        .def("start", &ev::SlaveLine::start, py::arg("interface"), py::arg("priority") = 0, py::arg("echo") = false,
             py::call_guard<py::gil_scoped_release>())
        .def("stop", &ev::SlaveLine::stop, py::call_guard<py::gil_scoped_release>())
        .def("stats", [](const ev::SlaveLine& line) {
          const ev::SlaveLine::Stats s = line.stats();
          py::dict d;
          d["frames"] = s.frames;
          d["process_data_frames"] = s.process_data_frames;
          d["dropped_frames"] = s.dropped_frames;
          d["max_process_us"] = s.max_process_us;
          d["priority"] = s.priority;
          d["al_states"] = s.al_states;
          return d;
        })
        .def("drive_fault", &ev::SlaveLine::drive_fault, py::arg("slave"), py::arg("code") = 0x2310,
             py::arg("persistent") = false)
        .def("clear_fault_cause", &ev::SlaveLine::clear_fault_cause, py::arg("slave"))
        .def("freeze_encoder", &ev::SlaveLine::freeze_encoder, py::arg("slave"), py::arg("frozen") = true)
        .def("drop_frames", &ev::SlaveLine::drop_frames, py::arg("count"))
        .def("skip_process_data", &ev::SlaveLine::skip_process_data, py::arg("slave"), py::arg("count"))
        .def("drive", [](const ev::SlaveLine& line, int slave) {
          const ev::SlaveLine::DriveInfo i = line.drive(slave);
          py::dict d;
          d["state"] = std::string(c4::state_name(i.state));
          d["q"] = i.q;
          d["dq"] = i.dq;
          d["tau"] = i.tau;
          d["al_state"] = i.al_state;
          d["controlword"] = i.controlword;
          d["mode"] = i.mode;
          d["rxpdo"] = i.rxpdo;
          d["fault_code"] = i.fault_code;
          return d;
        }, py::arg("slave"))
        .def("dc", [](const ev::SlaveLine& line, int slave) {
          const ev::Esc::DcStatus s = line.dc(slave);
          py::dict d;
          d["sync0_active"] = s.sync0_active;
          d["cycle_ns"] = s.cycle_ns;
          d["start_ns"] = s.start_ns;
          d["system_time_ns"] = s.system_time_ns;
          d["offset_ns"] = s.offset_ns;
          d["delay_ns"] = s.delay_ns;
          d["sync0_pulses"] = s.sync0_pulses;
          return d;
        }, py::arg("slave"), "the slave's distributed-clock registers (0x0910, 0x0920, 0x0928, 0x0981, 0x0990, 0x09A0)");
  }
  // ---- end EtherCAT ----
  bind_standing(m);  // standing controller (contact QP), after ControlLoop
}
