// _core.can: CAN buses (MIT-style motors, CiA 402 drives), their codecs and the virtual motors.
#include "common.hpp"

#include "can/can_bus.hpp"
#include "can/cia402.hpp"
#include "can/virtual_motors.hpp"
#include "cia402/virtual_drive.hpp"

namespace humanoid_rt::bindings {

void bind_can(py::module_& m) {
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
      .def("statistics", &hc::CanBus::statistics);
  StatisticsClass<hc::CanBusStatistics>(c, "CanBusStatistics", "CanBus.statistics(): frames, replies and waits.")
      .field("cycles", &hc::CanBusStatistics::cycles)
      .field("frames_sent", &hc::CanBusStatistics::frames_sent)
      .field("frames_received", &hc::CanBusStatistics::frames_received)
      .field("replies", &hc::CanBusStatistics::replies, "matched to an awaited reply")
      .field("missed_replies", &hc::CanBusStatistics::missed_replies, "awaited replies absent at the deadline")
      .field("extra_replies", &hc::CanBusStatistics::extra_replies, "a second reply for one joint in one cycle")
      .field("rejected_wrong_id", &hc::CanBusStatistics::rejected_wrong_id, "well-formed frames naming no device")
      .field("rejected_malformed", &hc::CanBusStatistics::rejected_malformed)
      .field("send_errors", &hc::CanBusStatistics::send_errors, "frames the channel refused")
      .field("waits", &hc::CanBusStatistics::waits, "cycles in which read() waited for replies")
      .field("max_wait_us", [](const hc::CanBusStatistics& s) { return static_cast<double>(s.max_wait_ns) / 1e3; },
             "longest such wait")
      .field("special_frames", &hc::CanBusStatistics::special_frames, "enter/exit/zero/clear-error frames sent");

  // The virtual motors (physics + device-side codec; see drivers/can/virtual_motors.hpp).
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
           "Takes ownership of fd: the device end of a SOCK_SEQPACKET socketpair (-1: none, frames come through handle()).")
      .def("add_motor", &hc::VirtualMotorResponder::add_motor, py::arg("motor"))
      .def("start", &hc::VirtualMotorResponder::start, py::arg("priority") = 0, py::arg("cpu") = -1)
      .def("stop", &hc::VirtualMotorResponder::stop, py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("running", &hc::VirtualMotorResponder::running)
      .def("sync", &hc::VirtualMotorResponder::sync, py::arg("timeout_s") = 5.0,
           py::call_guard<py::gil_scoped_release>())
      .def("motors", &hc::VirtualMotorResponder::motors)
      .def("set_faults", &hc::VirtualMotorResponder::set_faults, py::arg("joint"), py::arg("no_reply"),
           py::arg("wrong_id"), py::arg("garbled"), py::arg("temperature_c"), py::arg("error_code"))
      .def("statistics", &hc::VirtualMotorResponder::statistics)
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
          "Serve one frame without I/O (responder not started); returns [(can_id, extended, payload)].");

  StatisticsClass<hc::VirtualResponderStatistics>(c, "VirtualResponderStatistics",
                                                  "VirtualMotorResponder.statistics(): frames served.")
      .field("frames_in", &hc::VirtualResponderStatistics::frames_in)
      .field("frames_out", &hc::VirtualResponderStatistics::frames_out)
      .field("ignored", &hc::VirtualResponderStatistics::ignored, "frames for no motor of this responder");

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
  namespace c4 = humanoid_rt::cia402;
  c.def("decode_statusword", &hc::decode_statusword, py::arg("statusword"));
  c.def(
      "next_controlword",
      [](hc::Cia402State state, bool torque_on, int stop_category, bool fault_reset, bool reset_phase) {
        return c4::next_controlword(state, torque_on, stop_category, fault_reset && reset_phase);
      },
      py::arg("state"), py::arg("torque_on"), py::arg("stop_category"), py::arg("fault_reset"), py::arg("reset_phase"),
      "The CANopen bus's controlword: bit 7 only during a requested reset's high phase.");
  c.def("quick_stop_option_for_category", &c4::quick_stop_option_for_category, py::arg("stop_category"));
  c.def("device_transition", &c4::device_transition, py::arg("state"), py::arg("controlword"),
        py::arg("previous_controlword"), py::arg("quick_stop_option"), py::arg("fault_cleared"),
        "The virtual drive's state machine: the state after a controlword (CiA 402 transitions 1..16).");
  // The one virtual CiA 402 drive (drivers/cia402/virtual_drive.hpp); the CANopen virtual node wraps it.
  py::class_<c4::DriveLoad>(c, "Cia402DriveLoad")
      .def(py::init<>())
      .def_readwrite("inertia_kgm2", &c4::DriveLoad::inertia_kgm2)
      .def_readwrite("viscous_nm_s_rad", &c4::DriveLoad::viscous_nm_s_rad)
      .def_readwrite("coulomb_nm", &c4::DriveLoad::coulomb_nm)
      .def_readwrite("torque_limit_nm", &c4::DriveLoad::torque_limit_nm)
      .def_readwrite("substeps", &c4::DriveLoad::substeps)
      .def_readwrite("bandwidth_hz", &c4::DriveLoad::bandwidth_hz);
  py::class_<c4::VirtualDrive>(c, "Cia402VirtualDrive")
      .def(py::init<const c4::DriveLoad&, double>(), py::arg("load"), py::arg("q0") = 0.0)
      .def("controlword", &c4::VirtualDrive::controlword, py::arg("controlword"), py::arg("quick_stop_option"))
      .def("raise_fault", &c4::VirtualDrive::raise_fault, py::arg("code"), py::arg("persistent"))
      .def("clear_fault_cause", &c4::VirtualDrive::clear_fault_cause)
      .def("step", &c4::VirtualDrive::step, py::arg("period_s"), py::arg("mode"), py::arg("q_target"),
           py::arg("dq_target"), py::arg("tau_target"), py::arg("max_torque_nm"))
      .def("set_state", &c4::VirtualDrive::set_state, py::arg("state"))
      .def_property_readonly("state", &c4::VirtualDrive::state)
      .def_property_readonly("q", &c4::VirtualDrive::q)
      .def_property_readonly("dq", &c4::VirtualDrive::dq)
      .def_property_readonly("tau", &c4::VirtualDrive::tau)
      .def_property_readonly("last_controlword", &c4::VirtualDrive::last_controlword)
      .def_property_readonly("fault_code", &c4::VirtualDrive::fault_code);
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
      .def("statistics", &hc::Cia402Bus::statistics);
  using Cia402Stats = hc::Cia402BusStatistics;
  StatisticsClass<Cia402Stats>(c, "Cia402BusStatistics", "Cia402Bus.statistics(): frames, replies, emergencies.")
      .field("cycles", &Cia402Stats::cycles)
      .field("frames_sent", &Cia402Stats::frames_sent)
      .field("frames_received", &Cia402Stats::frames_received)
      .field("replies", &Cia402Stats::replies)
      .field("missed_replies", &Cia402Stats::missed_replies)
      .field("rejected", &Cia402Stats::rejected, "frames received but unusable")
      .field("emergencies", &Cia402Stats::emergencies, "EMCY messages")
      .field("send_errors", &Cia402Stats::send_errors)
      .field("max_wait_us", [](const Cia402Stats& s) { return static_cast<double>(s.max_wait_ns) / 1e3; })
      // The CanBusStatistics names the CAN report sums over every CAN bus: this bus does not tell a
      // wrong id from a malformed frame (all are `rejected`) and sends no special frames.
      .field("rejected_wrong_id", [](const Cia402Stats& s) { return s.rejected; }, "same as rejected")
      .field("rejected_malformed", [](const Cia402Stats&) { return std::uint64_t{0}; })
      .field("special_frames", [](const Cia402Stats&) { return std::uint64_t{0}; });

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

}  // namespace humanoid_rt::bindings
