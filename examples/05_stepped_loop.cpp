// 05: the control loop from C++, without Python: two joints on a mock bus, stepped
// on a simulated clock, enabled, sent a target, and read back. examples/05_stepped_loop.py
// is the same example in Python (examples share a number across languages, as ruckig's do).
//
//   cmake -B build-examples -DHUMANOID_RT_BUILD_EXAMPLES=ON -Dpybind11_DIR=$(python -m pybind11 --cmakedir)
//   cmake --build build-examples --target 05_stepped_loop && ./build-examples/05_stepped_loop
#include <cstdio>
#include <memory>

#include "humanoid_rt/control_loop.hpp"
#include "mock/mock_bus.hpp"

using namespace humanoid_rt;

int main() {
  std::vector<JointSpec> joints(2);
  for (auto& joint : joints) {
    joint.limits = JointLimits{-1.0, 1.0, -0.9, 0.9, 5.0, 40.0, 20000.0, 4.0};
    joint.kp = 100.0;
    joint.kd = 4.0;
  }
  LoopOptions options;
  options.priority = 0;  // stepped mode: no real-time thread
  ControlLoop loop(options, joints, SafetyParams{});

  auto bus = std::make_shared<MockBus>("arm", MockBusOptions{});
  MockActuator actuator;
  actuator.inertia_kgm2 = 0.05;
  for (int j = 0; j < 2; ++j) bus->set_actuator(j, actuator, JointTransmission{});
  loop.add_bus(bus, {0, 1});
  loop.configure();

  loop.request(RequestKind::kEnable);
  loop.step(600);  // 0.5 s enable ramp, then ACTIVE

  JointSetpoint target;
  target.q[0] = 0.5;
  target.q[1] = -0.25;
  target.t_target = loop.now() + 0.5;  // reach it in 0.5 s
  target.ttl = 0.0;                    // no watchdog for a single target
  target.t_written = -1.0;             // stamp with the loop clock
  loop.write_setpoint(target);
  loop.step(1000);

  const StateSnapshot s = loop.read_state();
  std::printf("t=%.3f s state=%s q=[%.4f, %.4f] tau=[%.3f, %.3f] Nm\n", s.t, to_string(s.state), s.q[0], s.q[1],
              s.tau_command[0], s.tau_command[1]);
  loop.stop();  // controlled stop: DAMPING, then DISABLED
  std::printf("after stop: %s (%s)\n", to_string(loop.read_state().state), to_string(loop.read_state().last_event.reason));
  return 0;
}
