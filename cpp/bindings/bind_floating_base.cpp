// Floating base (issue 13): IMU and foot sensors on the simulated buses, the base state estimator,
// and the loop's IMU buffer.
#include "common.hpp"

#include "humanoid_rt/base_estimator.hpp"
#include "mock/mock_bus.hpp"
#include "mujoco/mujoco_bus.hpp"

namespace humanoid_rt::bindings {

void bind_floating_base(py::module_& m) {
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

}  // namespace humanoid_rt::bindings
