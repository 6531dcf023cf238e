// humanoid_rt._core: the C++ core's Python module. Each area binds itself in its own file
// (bind_<area>.cpp); this file only fixes the order (base classes before the classes that extend them).
//
// Every call that can wait (start, stop, step, drain) releases the GIL, and nothing in the bindings lets
// the RT thread call back into Python.
#include "common.hpp"

PYBIND11_MODULE(_core, m) {
  using namespace humanoid_rt::bindings;
  m.doc() = "humanoid_rt real-time core (C++)";
  bind_loop(m);
  bind_sim(m);
  bind_floating_base(m);
  bind_standing(m);
  bind_contact_wbc(m);
  bind_can(m);
  bind_testing(m);
  bind_teleop(m);
  bind_ethercat(m);
  bind_cia402(m);
}
