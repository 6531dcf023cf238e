// The loop: supervisor enums, joint parameters, the Bus base class, the whole-body controller and
// ControlLoop itself (state, setpoints, telemetry drain), plus the StateReader for tight Python loops.
// State comes back as numpy arrays built on the caller's thread from a snapshot copy.
#include "common.hpp"

#include <atomic>
#include <cstring>
#include <numeric>
#include <optional>
#include <thread>
#include "humanoid_rt/joint_impedance.hpp"
#include "humanoid_rt/transmission.hpp"
#include "humanoid_rt/whole_body_impedance.hpp"

namespace humanoid_rt::bindings {

namespace {

// What ControlLoop::statistics() reports to Python: the loop's counters and its three histograms.
struct LoopStatisticsReport {
  LoopStatistics counts;
  LatencySummary wakeup_latency, compute_time, control_time;
};

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

}  // namespace

void bind_loop(py::module_& m) {
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
      .def_readwrite("event_capacity", &LoopOptions::event_capacity)
      .def_readwrite("control_budget_us", &LoopOptions::control_budget_us,
                     "budget of a cycle's control section [us]; 0: a third of the period");

  py::class_<JointSpec>(m, "JointSpec")
      .def(py::init<>())
      .def_readwrite("transmission", &JointSpec::transmission)
      .def_readwrite("limits", &JointSpec::limits)
      .def_readwrite("kp", &JointSpec::kp)
      .def_readwrite("kd", &JointSpec::kd)
      .def_readwrite("mode", &JointSpec::mode);

  StatisticsClass<BusCounters>(m, "BusCounters", "Bus.counters(): the counters every bus keeps, one key scheme for all "
                                                   "(zeros on buses without frames).")
      .field("cycles", &BusCounters::cycles)
      .field("frames_sent", &BusCounters::frames_sent)
      .field("frames_received", &BusCounters::frames_received)
      .field("missed_replies", &BusCounters::missed_replies)
      .field("rejected_frames", &BusCounters::rejected_frames)
      .field("send_errors", &BusCounters::send_errors);
  py::class_<Bus, std::shared_ptr<Bus>>(m, "Bus")
      .def_property_readonly("name", &Bus::name)
      .def("set_realtime", &Bus::set_realtime, py::arg("realtime"))
      .def("request_fault_reset", &Bus::request_fault_reset)
      .def_property_readonly("fault_reset_pending", &Bus::fault_reset_pending)
      .def("counters", &Bus::counters);
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

  StatisticsClass<LatencySummary>(m, "LatencySummary", "A latency histogram read at one moment [us].")
      .field("count", &LatencySummary::count)
      .field("mean_us", &LatencySummary::mean_us)
      .field("p50_us", &LatencySummary::p50_us)
      .field("p90_us", &LatencySummary::p90_us)
      .field("p99_us", &LatencySummary::p99_us)
      .field("p999_us", &LatencySummary::p999_us)
      .field("max_us", &LatencySummary::max_us);
  using LoopReport = LoopStatisticsReport;
  StatisticsClass<LoopReport>(m, "LoopStatistics", "ControlLoop.statistics(): counters and timing of the loop.")
      .field("cycles", [](const LoopReport& r) { return r.counts.cycles; })
      .field("overruns", [](const LoopReport& r) { return r.counts.overruns; },
             "cycles whose work ended after the next period boundary")
      .field("skipped_periods", [](const LoopReport& r) { return r.counts.skipped_periods; },
             "period boundaries dropped to catch up after overruns")
      .field("telemetry_overflows", [](const LoopReport& r) { return r.counts.telemetry_overflows; })
      .field("event_overflows", [](const LoopReport& r) { return r.counts.event_overflows; })
      .field("bus_errors", [](const LoopReport& r) { return r.counts.bus_errors; })
      .field("realtime_allocations", [](const LoopReport& r) { return r.counts.realtime_allocations; },
             "heap allocations on loop threads (process-wide); must stay 0")
      .field("control_budget_overruns", [](const LoopReport& r) { return r.counts.control_budget_overruns; },
             "cycles whose control section took longer than control_budget_us")
      .field("control_budget_us", [](const LoopReport& r) { return static_cast<double>(r.counts.control_budget_ns) / 1e3; },
             "the control section's budget (loop.control_budget_us, or a third of the period)")
      .field("wakeup_latency", &LoopReport::wakeup_latency, "wakeup after the period boundary (real time only)")
      .field("compute_time", &LoopReport::compute_time,
             "one cycle's work: from the wakeup (stepped: the cycle's start) to its end, bus I/O included")
      .field("control_time", &LoopReport::control_time,
             "the control section: from the end of the buses' reads to the start of their writes");

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
            // Floating base only: the estimator's state, IMU sample and balance figures per sample (copied
            // out here, written to columns below).
            std::vector<FloatingBaseRow> bases(loop.has_base_estimator() ? wanted : 0);
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
                if (!bases.empty()) bases[i] = {s.base, s.imu, s.balance};
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
            if (loop.has_base_estimator())  // floating base (issue 13); also with 0 rows: the layout of a drain
              add_floating_base_telemetry(d, bases.data(), count, loop.base_contacts());
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
             return LoopStatisticsReport{loop.statistics(), summarize(loop.wakeup_latency()),
                                         summarize(loop.compute_time()), summarize(loop.control_time())};
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
}

}  // namespace humanoid_rt::bindings
