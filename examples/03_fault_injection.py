"""03: inject faults on the mock bus and watch the supervisor: a drive error latches
FAULT (torque off in the same cycle), reset is refused while it persists, accepted after;
a joint pushed past its hard limit is brought back with recover().

    python examples/03_fault_injection.py
"""

from humanoid_rt import Robot

with Robot("generic_humanoid") as robot:
    robot.enable()
    robot.step(600)
    hip = robot.joint_index("right_hip_pitch")
    bus = robot.bus(hip)

    bus.set_drive_error(hip, 0x2310)  # e.g. a CiA 402 over-current code
    state = robot.step(1)
    print(f"{state.supervisor_state}: {state.reason} on {robot.joint_names[state.last_event['joint']]}, "
          f"max |tau| now {abs(state.tau_command).max():.1f} Nm")

    robot.reset()
    robot.step(1)
    answer = robot.events()[-1]
    print(f"reset while the error persists: accepted={answer['accepted']} ({answer['reason']})")

    bus.clear_faults()
    robot.reset()
    print(f"after clearing the drive error, reset -> {robot.step(1).supervisor_state}")

    # A joint outside its hard limit: reset() is refused while it is out there; recover() walks it
    # back slowly with limited torque (RECOVERY), then DAMPING and DISABLED.
    elbow = robot.joint_index("left_elbow")
    robot.bus(elbow).set_joint_position(elbow, robot.config.joints[elbow].limits.q_max + 0.2)
    print(f"elbow pushed out: {robot.step(1).supervisor_state} ({robot.state().reason})")
    robot.recover()
    print(f"recover() -> {robot.step(1).supervisor_state}")
    while robot.step(100).supervisor_state not in ("DISABLED", "FAULT"):
        pass
    print(f"-> {robot.state().supervisor_state}, elbow at {robot.state().q[elbow]:.3f} rad "
          f"(hard limit {robot.config.joints[elbow].limits.q_max})")
