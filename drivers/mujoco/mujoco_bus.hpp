// A MuJoCo simulation of the whole robot as a bus: the digital twin.
//
// The same runtime that drives hardware drives the physics: read() advances
// the simulation from the previous read to now under the command in force
// (period / substeps per mj_step) and reports joint positions, velocities and
// actuator torques; write() sets the actuators' torques, or evaluates a
// drive-side impedance command at every physics substep as a drive would.
// The model arrives as MJCF text generated from the robot's URDF (floor,
// torque-limited motors, joint damping and armature added; see
// humanoid_rt/sim/mujoco_model.py), so the twin and the controller's model
// come from one description.
//
// Threading: construction, set_joint() and configure() on a non-RT thread;
// read()/write() on the loop thread only (mj_step allocates nothing: mjData's
// arena is sized at mj_makeData). Sensor noise is configured, not injected later.
#pragma once

#include <atomic>
#include <random>
#include <string>
#include <vector>

#include "humanoid_rt/bus.hpp"
#include "humanoid_rt/transmission.hpp"

struct mjModel_;
struct mjData_;

namespace humanoid_rt {

struct MujocoBusOptions {
  int substeps = 1;                 // physics steps per loop period (timestep = period / substeps)
  double position_noise_rad = 0.0;  // Gaussian noise on reported positions
  double velocity_noise_rad_s = 0.0;
  std::uint64_t seed = 0;
  // Floating-base sensing (issue 13): IMU noise and bias (the twin's IMU is MuJoCo's gyro,
  // accelerometer and frame-orientation sensors on the site humanoid_rt_imu; see mujoco_model.py).
  double imu_gyro_noise_rad_s = 0.0;          // Gaussian, per axis
  std::array<double, 3> imu_gyro_bias_rad_s{};
  double imu_accel_noise_m_s2 = 0.0;
  std::array<double, 3> imu_accel_bias_m_s2{};
  double imu_orientation_noise_rad = 0.0;     // a random small rotation per sample
};

class MujocoBus final : public Bus {
 public:
  MujocoBus(std::string name, const std::string& mjcf_xml, const MujocoBusOptions& options);
  ~MujocoBus() override;
  MujocoBus(const MujocoBus&) = delete;
  MujocoBus& operator=(const MujocoBus&) = delete;

  // Configuration time: robot joint index -> the MuJoCo joint and actuator of that name.
  void set_joint(int joint, const std::string& mujoco_joint, const std::string& actuator,
                 const JointTransmission& transmission);
  void set_joint_position(int joint, double q_joint);

  const std::string& name() const override { return name_; }
  void configure(const std::vector<int>& joint_indices, double period_s) override;
  void activate() override;
  BusStatus read(double t, JointState& motor_state) override;
  BusStatus write(double t, const JointCommand& motor_command) override;
  void deactivate() override;

  // Simulation state for analysis and viewers: only while the loop is stopped or between step() calls.
  std::vector<double> qpos() const;
  double simulation_time() const;
  double timestep() const;
  int contact_count() const;

  // Floating base (issue 13), configuration time: the feet whose contact force read_base_sensors()
  // reports (MuJoCo body names, in the order of model.contacts). The IMU is present when the model
  // has the humanoid_rt_imu sensors.
  void set_feet(const std::vector<std::string>& bodies);
  bool carries_imu() const override { return imu_quat_ >= 0; }
  bool read_base_sensors(double t, BaseSensors& out) override;
  // Fault injection, any non-RT thread: the IMU stops delivering new samples (a dropped IMU).
  void drop_imu(bool dropped) { imu_dropped_.store(dropped); }
  // Ground truth for tests (loop stopped or between step() calls): the free joint's pose
  // (position [m], quaternion w-x-y-z) and twist (linear velocity in world axes, angular
  // velocity in base axes), empty on a fixed base; the floor's height.
  bool floating() const { return free_qpos_ >= 0; }
  std::vector<double> base_pose() const;
  std::vector<double> base_twist() const;
  double floor_height() const;
  // Sets the free joint's pose (position, quaternion w-x-y-z) at rest; non-RT, loop stopped.
  void set_base_pose(const std::vector<double>& pose);
  // Lifts or lowers the floating base so the lowest robot geometry touches the floor; returns the shift [m].
  double rest_on_floor();
  // An external push on the floating base's root body (pelvis): a constant force impulse / duration
  // through xfrc_applied, at the body's centre of mass, world axes, over the physics steps that
  // follow (duration rounded to whole physics steps, the force scaled so the impulse is exact).
  // Any non-RT thread, one producer at a time; taken by the loop thread's next read().
  // Returns the number of physics steps it will act for.
  int push(const std::array<double, 3>& impulse_ns, double duration_s);
  // Fault injection, any non-RT thread (joint: the robot's joint index on this bus): the drive's
  // reported temperature (default 35 degC), and an external torque on the joint (someone or something
  // pushing the limb) applied through qfrc_applied from the next physics step on.
  void set_temperature(int joint, double celsius);
  void set_external_torque(int joint, double nm);
  bool pushing() const { return push_pending_.load() || push_steps_left_ > 0; }  // loop stopped / between steps

 private:
  struct JointMap {
    int qpos_address = -1;
    int dof_address = -1;
    int actuator = -1;
  };
  void integrate(double dt);

  const std::string name_;
  const MujocoBusOptions options_;
  mjModel_* model_ = nullptr;  // non-RT at construction, then read-only
  mjData_* data_ = nullptr;    // loop thread only after configure()
  Transmission transmission_;  // configuration time, then read-only
  std::array<JointMap, kMaxJoints> map_{};
  std::vector<int> joints_;

  // Loop thread only.
  JointCommand command_{};  // joint side, in force until the next write()
  double t_last_ = 0.0;
  bool started_ = false;
  std::mt19937_64 rng_;
  std::normal_distribution<double> noise_{0.0, 1.0};

  // Floating-base sensing: sensor addresses and foot bodies fixed at construction / set_feet().
  int free_qpos_ = -1, free_dof_ = -1;        // the free joint's qpos / qvel address (-1: fixed base)
  int imu_quat_ = -1, imu_gyro_ = -1, imu_accel_ = -1;  // sensordata addresses (-1: no IMU)
  int floor_geom_ = -1;
  std::vector<int> foot_bodies_;
  std::uint64_t imu_sequence_ = 0;            // loop thread only
  std::atomic<bool> imu_dropped_{false};      // any thread writes, loop thread reads
  // Pushes: the producer writes push_request_ then sets push_pending_ (release); the loop thread
  // takes it (acquire) and applies it in integrate().
  std::array<std::atomic<double>, kMaxJoints> injected_temperature_c_{};  // any thread writes, loop reads
  std::array<std::atomic<double>, kMaxJoints> injected_torque_nm_{};     // any thread writes, loop reads
  int root_body_ = -1;                        // the free joint's body; fixed at construction
  std::array<double, 3> push_request_force_{};  // producer writes before push_pending_
  int push_request_steps_ = 0;                  // producer writes before push_pending_
  std::atomic<bool> push_pending_{false};
  std::array<double, 3> push_force_{};        // loop thread only: the force in effect
  int push_steps_left_ = 0;                   // loop thread only
};

}  // namespace humanoid_rt
