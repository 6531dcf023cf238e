// The rotor the virtual devices turn: the virtual MIT-family motors (drivers/can/virtual_motors.*)
// and the virtual CiA 402 drive (drivers/cia402/virtual_drive.*).
//
//   I ddq = tau - b dq - c sign(dq)
//
// One semi-implicit Euler step of length h: viscous friction implicit (stable at any h), then
// Coulomb friction, which stops the rotor within the step rather than reverse it. Callers clamp
// tau to their torque limit and split a period into substeps themselves. No allocation: callable
// from any thread.
#pragma once

#include <cmath>

namespace humanoid_rt::rotor {

inline void step(double inertia_kgm2, double viscous_nm_s_rad, double coulomb_nm, double h, double tau, double& q,
                 double& dq) {
  double v = (dq + h / inertia_kgm2 * tau) / (1.0 + h * viscous_nm_s_rad / inertia_kgm2);
  const double coulomb_dv = coulomb_nm * h / inertia_kgm2;
  v = std::fabs(v) <= coulomb_dv ? 0.0 : v - std::copysign(coulomb_dv, v);
  dq = v;
  q += h * v;
}

}  // namespace humanoid_rt::rotor
