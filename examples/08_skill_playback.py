"""08: play a recorded skill: the bundled "wave" (right arm up, the forearm waves four times) streamed
to the robot as timestamped setpoints at 100 Hz, after a jerk-limited approach from where the arm is.

A skill is a JSON file (firmware_interfaces/skills/FORMAT.md) checked against the robot before
anything moves. Stepped mode: the caller alternates player.update() and robot.step(); in real time
PlayerThread(player) does the same on a Python thread.

    python examples/08_skill_playback.py
"""

import numpy as np

from humanoid_rt import Robot
from humanoid_rt.skills import SkillPlayer, load_skill
from humanoid_rt.skills.cli import resolve_skill

with Robot("generic_humanoid") as robot:
    skill = load_skill(resolve_skill("wave"), robot)  # a path works too
    print(f"skill {skill.name}: {len(skill.t)} samples over {skill.duration:.2f} s, joints {', '.join(skill.joints)}")
    robot.enable()
    robot.step(600)

    player = SkillPlayer(robot)
    player.play(skill)
    columns = [robot.joint_index(name) for name in skill.joints]
    worst = 0.0
    low, high = np.full(len(columns), np.inf), np.full(len(columns), -np.inf)  # the reference's range
    cycles_per_update = round(player.interval * robot.rate_hz)  # 10 cycles = one 100 Hz stream interval
    while player.active:
        player.update()
        robot.step(cycles_per_update)
        state = robot.state()
        worst = max(worst, float(np.max(np.abs(state.q[columns] - state.q_ref[columns]))))
        low, high = np.minimum(low, state.q_ref[columns]), np.maximum(high, state.q_ref[columns])
    robot.step(500)  # the final pose is held (no watchdog on the last target)
    status = player.status()
    print(f"player {status['state']}: {status['setpoints_sent']} setpoints sent, "
          f"max tracking error {1e3 * worst:.2f} mrad")
    for i, name in enumerate(skill.joints):  # the loop's reference went through the skill's range
        print(f"{name:<22} skill [{skill.q[:, i].min():+.4f}, {skill.q[:, i].max():+.4f}]  "
              f"reference [{low[i]:+.4f}, {high[i]:+.4f}]  final q {robot.state().q[columns[i]]:+.4f} rad")
