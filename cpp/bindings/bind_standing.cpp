// Bindings of the standing robot's safety (issue 13): fall detection, the crouch stop and its
// per-cause policy, the protective fall behaviour, and the twin's push API.
// Registered from the module entry point after ControlLoop and MujocoBus exist.
#include "common.hpp"

#include <cmath>

#include "humanoid_rt/control_loop.hpp"
#include "humanoid_rt/fall_detector.hpp"
#include "humanoid_rt/standing_safety.hpp"
#include "mujoco/mujoco_bus.hpp"

namespace humanoid_rt::bindings {

namespace {
// A posture list with NaN for "not set": values and mask.
void posture(const std::vector<double>& values, int n, const char* field, JointVector& out, JointFlags& mask) {
  if (static_cast<int>(values.size()) != n)
    throw std::invalid_argument(std::string(field) + ": one value per joint (NaN: not set), " + std::to_string(n) + " values");
  for (int j = 0; j < n; ++j) {
    mask[j] = std::isnan(values[j]) ? 0 : 1;
    out[j] = mask[j] ? values[j] : 0.0;
  }
}
}  // namespace

void bind_standing(py::module_& m) {
  py::enum_<StopCategory>(m, "StopCategory", "How a stop ends (IEC 60204-1 categories; crouch and protective_fall: floating base).")
      .value("torque_off", StopCategory::kTorqueOff)
      .value("damp", StopCategory::kControlled)
      .value("crouch", StopCategory::kCrouch)
      .value("protective_fall", StopCategory::kProtectiveFall);
  m.def("stop_category_for", [](int reason) { return stop_category_for(static_cast<Reason>(reason)); }, py::arg("reason"),
        "The fixed-base stop category of a fault reason (code): what the drives allow.");

  py::class_<FallDetectorOptions>(m, "FallDetectorOptions")
      .def(py::init<>())
      .def_readwrite("tilt_rad", &FallDetectorOptions::tilt_rad)
      .def_readwrite("com_margin_m", &FallDetectorOptions::com_margin_m)
      .def_readwrite("com_cycles", &FallDetectorOptions::com_cycles)
      .def_readwrite("contact_loss_cycles", &FallDetectorOptions::contact_loss_cycles)
      .def_readwrite("foot_clearance_m", &FallDetectorOptions::foot_clearance_m);

  py::class_<SoleSpec>(m, "SoleSpec")
      .def(py::init([](const std::string& frame, std::array<double, 3> offset, std::array<double, 2> size) {
             return SoleSpec{frame, offset, size};
           }),
           py::arg("frame"), py::arg("offset"), py::arg("size"));

  py::class_<FallDetector, std::shared_ptr<FallDetector>>(m, "FallDetector")
      .def(py::init<const std::string&, const std::vector<std::string>&, const std::vector<SoleSpec>&,
                    const FallDetectorOptions&>(),
           py::arg("urdf_path"), py::arg("joint_names"), py::arg("soles"), py::arg("options"))
      .def_property_readonly("options", &FallDetector::options)
      .def_property_readonly("last_tilt", &FallDetector::last_tilt, "Base tilt of the last armed cycle [rad] (loop stopped).")
      .def_property_readonly("last_com_distance", &FallDetector::last_com_distance,
                             "Signed CoM distance from the support polygon's border, > 0 outside [m] (loop stopped).")
      .def(
          "support_polygon",
          [](const FallDetector& d, const std::vector<double>& q, std::array<double, 4> orientation,
             const std::vector<int>& contact) {
            std::array<double, 2> com{};
            const std::vector<double> vertices = d.support_polygon(q, orientation, contact, com);
            py::list polygon;
            for (std::size_t i = 0; i + 1 < vertices.size(); i += 2) polygon.append(py::make_tuple(vertices[i], vertices[i + 1]));
            return py::make_tuple(py::make_tuple(com[0], com[1]), polygon);
          },
          py::arg("q"), py::arg("orientation") = std::array<double, 4>{1, 0, 0, 0}, py::arg("contact") = std::vector<int>{1, 1, 1, 1},
          "(CoM ground projection, support polygon vertices counter-clockwise) relative to the base origin, world axes.");

  py::class_<StandingSafety, std::shared_ptr<StandingSafety>>(m, "StandingSafety")
      .def(py::init([](int n_joints, const std::vector<double>& crouch, const std::vector<double>& tuck,
                       const std::vector<int>& policy, double crouch_velocity_fraction, double min_duration_s,
                       double settle_s, double support_height_m, double tuck_stiffness_fraction,
                       double fall_protect_time_s, std::shared_ptr<FallDetector> detector,
                       const std::vector<double>& crouch_stiffness_scale) {
             StandingStopOptions o;
             posture(crouch, n_joints, "floating_base.stops.crouch", o.crouch, o.crouch_mask);
             posture(tuck, n_joints, "floating_base.fall.tuck", o.tuck, o.tuck_mask);
             if (static_cast<int>(policy.size()) != kStopPolicySlots)
               throw std::invalid_argument("policy: one stop category per reason code (64)");
             for (int r = 0; r < kStopPolicySlots; ++r) {
               if (policy[r] < 0 || policy[r] > 3) throw std::invalid_argument("policy: stop categories are 0..3");
               o.policy[r] = static_cast<StopCategory>(policy[r]);
             }
             o.crouch_velocity_fraction = crouch_velocity_fraction;
             o.min_duration_s = min_duration_s;
             o.settle_s = settle_s;
             o.support_height_m = support_height_m;
             o.tuck_stiffness_fraction = tuck_stiffness_fraction;
             o.fall_protect_time_s = fall_protect_time_s;
             if (!crouch_stiffness_scale.empty()) {
               if (static_cast<int>(crouch_stiffness_scale.size()) != n_joints)
                 throw std::invalid_argument("crouch_stiffness_scale: one value per joint, " + std::to_string(n_joints) + " values");
               for (int j = 0; j < n_joints; ++j) {
                 const double scale = crouch_stiffness_scale[j];
                 if (!(std::isfinite(scale) && scale >= 1.0 && scale <= 100.0))
                   throw std::invalid_argument("crouch_stiffness_scale[" + std::to_string(j) + "]: allowed: 1 .. 100");
                 o.crouch_stiffness_scale[j] = scale;
                 o.crouch_damping_scale[j] = std::sqrt(scale);
               }
             }
             return std::make_shared<StandingSafety>(n_joints, o, std::move(detector));
           }),
           py::arg("n_joints"), py::arg("crouch"), py::arg("tuck"), py::arg("policy"), py::arg("crouch_velocity_fraction"),
           py::arg("min_duration_s"), py::arg("settle_s"), py::arg("support_height_m"), py::arg("tuck_stiffness_fraction"),
           py::arg("fall_protect_time_s"), py::arg("detector") = nullptr,
           py::arg("crouch_stiffness_scale") = std::vector<double>{})
      .def_property_readonly("detector", &StandingSafety::detector, "The fall detector (None: fall detection off).")
      .def("confirm_supported", &StandingSafety::confirm_supported,
           "The crouched robot is on a support: the hold ends (damping, then STO). Any thread.");

  auto loop = py::reinterpret_borrow<py::class_<ControlLoop>>(m.attr("ControlLoop"));
  loop.def("set_standing_safety", &ControlLoop::set_standing_safety, py::arg("standing"));

  auto twin = py::reinterpret_borrow<py::class_<MujocoBus, Bus, std::shared_ptr<MujocoBus>>>(m.attr("MujocoBus"));
  twin.def("push", &MujocoBus::push, py::arg("impulse_ns"), py::arg("duration_s") = 0.1,
           "An external impulse on the pelvis (root body) [N s, world axes] spread over duration_s as a constant force; "
           "taken by the next stepped cycle. Returns the physics steps it acts for.")
      .def_property_readonly("pushing", &MujocoBus::pushing)
      .def("set_temperature", &MujocoBus::set_temperature, py::arg("joint"), py::arg("celsius"),
           "Fault injection: the drive's reported temperature (joint: robot joint index).")
      .def("set_external_torque", &MujocoBus::set_external_torque, py::arg("joint"), py::arg("nm"),
           "Fault injection: an external torque on the joint (qfrc_applied) from the next physics step.");
}

}  // namespace humanoid_rt::bindings
