// EtherCAT: the bus over SOEM, the CiA 402 helpers it shares with CAN, and the virtual slave line.
#include "common.hpp"

#include "ethercat/ethercat_bus.hpp"
#include "ethercat/virtual_slave/slave_line.hpp"
#include "cia402/cia402.hpp"

namespace humanoid_rt::bindings {

void bind_ethercat(py::module_& m) {
  namespace c4 = humanoid_rt::cia402;
  m.def("cia402_decode_statusword", [](std::uint16_t sw) { return std::string(c4::state_name(c4::decode_statusword(sw))); },
        py::arg("statusword"));
  m.def("cia402_next_controlword", [](std::uint16_t sw, bool enable, bool fault_reset, int stop_category) {
    return c4::next_controlword(c4::decode_statusword(sw), enable, stop_category, fault_reset);
  }, py::arg("statusword"), py::arg("enable"), py::arg("fault_reset") = false, py::arg("stop_category") = 1);
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

}  // namespace humanoid_rt::bindings
