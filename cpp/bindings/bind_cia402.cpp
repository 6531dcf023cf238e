// _core.cia402: the CiA 402 drive state machine (drivers/cia402) as pure functions, for tests and tools.
#include "common.hpp"

#include "cia402/cia402.hpp"

namespace humanoid_rt::bindings {

void bind_cia402(py::module_& m) {
  namespace c4 = humanoid_rt::cia402;
  py::module_ c = m.def_submodule("cia402", "CiA 402 (IEC 61800-7-201) drive state machine: statusword and controlword.");
  c.def("decode_statusword", [](std::uint16_t sw) { return std::string(c4::state_name(c4::decode_statusword(sw))); },
        py::arg("statusword"), "The drive state a statusword reports, by name.");
  c.def("next_controlword", [](std::uint16_t sw, bool enable, bool fault_reset, int stop_category) {
    return c4::next_controlword(c4::decode_statusword(sw), enable, stop_category, fault_reset);
  }, py::arg("statusword"), py::arg("enable"), py::arg("fault_reset") = false, py::arg("stop_category") = 1,
     "The controlword that moves a drive in this state one step toward enabled (or disabled).");
  c.def("quick_stop_option", &c4::quick_stop_option_for_category, py::arg("stop_category"),
        "The quick-stop option code (object 0x605A) for an IEC 60204-1 stop category.");
}

}  // namespace humanoid_rt::bindings
