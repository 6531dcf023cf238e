// The standing controller (contact QP whole-body control, issue 13): its options, status and
// statistics, and ControlLoop.set_standing().
#include "common.hpp"

#include "humanoid_rt/contact_wbc.hpp"
#include "humanoid_rt/control_loop.hpp"

namespace humanoid_rt::bindings {

namespace {
py::dict status_to_dict(const StandingStatus& s, int n_contacts) {
  py::dict d;
  d["cycle"] = s.cycle;
  d["active"] = s.active;
  d["qp_ok"] = s.qp_ok;
  d["iterations"] = s.iterations;
  d["com"] = s.com;
  d["com_reference"] = s.com_reference;
  d["com_margin"] = s.com_margin;
  py::list cop, cop_margin, normal_force;
  for (int i = 0; i < n_contacts; ++i) {
    cop.append(py::make_tuple(s.cop[2 * i], s.cop[2 * i + 1]));
    cop_margin.append(s.cop_margin[i]);
    normal_force.append(s.normal_force[i]);
  }
  d["cop"] = cop;
  d["cop_margin"] = cop_margin;
  d["normal_force"] = normal_force;
  d["friction_residual"] = s.friction_residual;
  d["torque_residual"] = s.torque_residual;
  d["equality_residual"] = s.equality_residual;
  d["base_reference"] = s.base_reference;
  d["base_goal"] = s.base_goal;
  return d;
}
}  // namespace

void bind_contact_wbc(py::module_& m) {
  py::enum_<QpSolver>(m, "QpSolver").value("eiquadprog", QpSolver::kEiquadprog).value("proxsuite", QpSolver::kProxsuite);
  py::class_<ContactSole>(m, "ContactSole")
      .def(py::init([](const std::string& frame, std::array<double, 3> offset, std::array<double, 2> size) {
             return ContactSole{frame, offset, size};
           }),
           py::arg("frame"), py::arg("offset"), py::arg("size"))
      .def_readonly("frame", &ContactSole::frame)
      .def_readonly("offset", &ContactSole::offset)
      .def_readonly("size", &ContactSole::size);
  py::class_<ContactWbcOptions> options(m, "ContactWbcOptions");
  options.def(py::init<>())
      .def_readwrite("solver", &ContactWbcOptions::solver)
      .def_readwrite("task_mass", &ContactWbcOptions::task_mass);
#define HUMANOID_RT_OPTION(name) options.def_readwrite(#name, &ContactWbcOptions::name)
  HUMANOID_RT_OPTION(friction);
  HUMANOID_RT_OPTION(min_normal_force_n);
  HUMANOID_RT_OPTION(sole_margin_m);
  HUMANOID_RT_OPTION(contact_damping);
  HUMANOID_RT_OPTION(com_kp);
  HUMANOID_RT_OPTION(com_kd);
  HUMANOID_RT_OPTION(com_weight);
  HUMANOID_RT_OPTION(orientation_kp);
  HUMANOID_RT_OPTION(orientation_kd);
  HUMANOID_RT_OPTION(orientation_weight);
  HUMANOID_RT_OPTION(task_weight);
  HUMANOID_RT_OPTION(posture_kp);
  HUMANOID_RT_OPTION(posture_kd);
  HUMANOID_RT_OPTION(posture_weight);
  HUMANOID_RT_OPTION(qdd_regularisation);
  HUMANOID_RT_OPTION(force_regularisation);
  HUMANOID_RT_OPTION(fallback_time_constant_s);
  HUMANOID_RT_OPTION(reference_speed_limit);
  HUMANOID_RT_OPTION(orientation_filter_s);
  HUMANOID_RT_OPTION(base_height_down_m);
  HUMANOID_RT_OPTION(base_height_up_m);
  HUMANOID_RT_OPTION(base_max_roll_rad);
  HUMANOID_RT_OPTION(base_max_pitch_rad);
  HUMANOID_RT_OPTION(base_max_yaw_rad);
  HUMANOID_RT_OPTION(base_height_speed_m_s);
  HUMANOID_RT_OPTION(base_angular_speed_rad_s);
#undef HUMANOID_RT_OPTION

  py::class_<ContactWbc, std::shared_ptr<ContactWbc>>(m, "ContactWbc")
      .def(py::init<const std::string&, const std::vector<std::string>&, const std::vector<std::string>&,
                    const std::vector<ContactSole>&, const std::vector<double>&, double, const ContactWbcOptions&>(),
           py::arg("urdf_path"), py::arg("joint_names"), py::arg("task_frames"), py::arg("soles"),
           py::arg("torque_limits"), py::arg("period_s"), py::arg("options"))
      .def_property_readonly("n_contacts", &ContactWbc::n_contacts)
      .def_property_readonly("n_variables", &ContactWbc::n_variables)
      .def_property_readonly("n_equalities", &ContactWbc::n_equalities)
      .def_property_readonly("n_inequalities", &ContactWbc::n_inequalities)
      .def_property_readonly("options", &ContactWbc::options)
      .def("set_reference", &ContactWbc::set_reference, py::arg("com_offset"), py::arg("duration"),
           "CoM reference offset [m] from where the robot stood at enable, reached in `duration` s.")
      .def("set_base_target", &ContactWbc::set_base_target, py::arg("height_offset_m"), py::arg("rpy"),
           py::arg("duration"),
           "Pelvis height offset [m] from the anchor and roll/pitch/yaw [rad] in the stance frame, reached in "
           "`duration` s (within options.base_*; else ValueError naming the field).")
      .def("clamp_base_target", [](const ContactWbc& c, double height_offset, std::array<double, 3> rpy) {
             const bool clipped = c.clamp_base_target(height_offset, rpy);
             return py::make_tuple(height_offset, rpy, clipped);
           }, py::arg("height_offset_m"), py::arg("rpy"),
           "(height, rpy, clipped): the values clipped into the limits, as the teleop receiver does.")
      .def("read_status", [](ContactWbc& c) {
        const StandingStatus s = c.read_status();
        return status_to_dict(s, c.n_contacts());
      })
      .def("statistics", [](const ContactWbc& c) {
        const StandingStatistics s = c.statistics();
        py::dict d;
        d["solves"] = s.solves;
        d["failures"] = s.failures;
        d["consecutive_failures"] = s.consecutive_failures;
        d["max_friction_residual"] = s.max_friction_residual;
        d["max_torque_residual"] = s.max_torque_residual;
        d["max_equality_residual"] = s.max_equality_residual;
        d["min_cop_margin"] = s.min_cop_margin;
        d["min_com_margin"] = s.min_com_margin;
        d["min_cop_margin_per_foot"] =
            std::vector<double>(s.min_cop_margin_per_foot.begin(), s.min_cop_margin_per_foot.begin() + c.n_contacts());
        return d;
      })
      .def("reset_statistics", &ContactWbc::reset_statistics)
      .def("last_qp", [](const ContactWbc& c) {
        const auto parts = c.last_qp();
        py::dict d;
        const char* names[] = {"H", "g", "CE", "ce0", "CI", "ci0", "x"};
        for (std::size_t i = 0; i < parts.size(); ++i) d[names[i]] = parts[i];
        return d;
      });

  auto loop = py::reinterpret_borrow<py::class_<ControlLoop>>(m.attr("ControlLoop"));
  loop.def("set_standing", &ControlLoop::set_standing, py::arg("controller"));
}

}  // namespace humanoid_rt::bindings
