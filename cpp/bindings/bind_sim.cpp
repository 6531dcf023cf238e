// The simulated buses: the mock bus (actuator models, fault injection) and the MuJoCo twin.
#include "common.hpp"

#include "mock/mock_bus.hpp"
#include "mujoco/mujoco_bus.hpp"

namespace humanoid_rt::bindings {

void bind_sim(py::module_& m) {
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

}

}  // namespace humanoid_rt::bindings
