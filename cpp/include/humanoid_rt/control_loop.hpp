// The control loop: one object, two ways to run it.
//
//   real time  start(): a SCHED_FIFO thread sleeps with clock_nanosleep(TIMER_ABSTIME)
//              to each period boundary and runs one cycle;
//   stepped    step(n): the caller's thread runs n cycles at once on a simulated
//              clock (t = cycle * period), for exact tests and simulation.
// Both run the same cycle(), seven named steps in this order:
//
//   read_buses        buses.read -> Transmission -> supervisor.check_measurements (+ floating base)
//   take_requests     e-stop, queued requests, shutdown
//   take_setpoint     latest setpoint / watchdog refresh (Mailbox) -> interpolator target
//   update_reference  time-driven transitions, interpolator -> SLP/SLA/SLI (reference_shaper.hpp)
//   compute_torque    joint impedance (or damping), whole body -> supervisor.shape_torque -> pack
//                     torque or drive-side (q, dq, kp, kd, tau_ff)
//   write_buses       Transmission -> buses.write
//   publish           state snapshot (triple buffer) + telemetry (SPSC ring)
//
// Lifecycle (ros2_control words): construct with the joints and limits,
// add_bus(), configure(), then start()/step(), stop(), deactivate().
//
// Threads: "loop thread" below is the RT thread while running in real time,
// otherwise the thread calling step(). Producers on non-RT threads (Python,
// teleop receivers) are serialised among themselves by small mutexes that the
// loop thread never touches.
#pragma once

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "humanoid_rt/base_estimator.hpp"
#include "humanoid_rt/bus.hpp"
#include "humanoid_rt/contact_wbc.hpp"
#include "humanoid_rt/latency_histogram.hpp"
#include "humanoid_rt/mailbox.hpp"
#include "humanoid_rt/realtime_thread.hpp"
#include "humanoid_rt/safety_supervisor.hpp"
#include "humanoid_rt/setpoint_interpolator.hpp"
#include "humanoid_rt/spsc_ring.hpp"
#include "humanoid_rt/standing_safety.hpp"
#include "humanoid_rt/telemetry.hpp"
#include "humanoid_rt/transmission.hpp"
#include "humanoid_rt/triple_buffer.hpp"
#include "humanoid_rt/whole_body_impedance.hpp"

namespace humanoid_rt {

struct LoopOptions {
  double rate_hz = 1000.0;
  int priority = 80;         // SCHED_FIFO priority; 0 = do not ask for real-time scheduling
  int cpu = -1;              // CPU to pin the loop thread to; -1 = no pinning
  bool lock_memory = true;
  int telemetry_decimation = 1;
  std::size_t telemetry_capacity = 8192;
  std::size_t event_capacity = 1024;
  std::size_t request_capacity = 64;
  // Budget of a cycle's control section (see ControlLoop::control_time()) [us]; 0: a third of the
  // period. Cycles over it are counted (LoopStatistics::control_budget_overruns), nothing else changes.
  double control_budget_us = 0.0;
};

struct JointSpec {
  JointTransmission transmission;
  JointLimits limits;
  double kp = 0.0;  // default gains
  double kd = 0.0;
  CommandMode mode = CommandMode::kTorque;
};

// A watchdog refresh (see ControlLoop::refresh_watchdog).
struct WatchdogRefresh {
  std::uint64_t sequence = 0;
  double t_written = 0.0;
  double ttl = 0.0;
};

struct LoopStatistics {
  std::uint64_t cycles = 0;
  std::uint64_t overruns = 0;        // cycles whose work ended after the next period boundary
  std::uint64_t skipped_periods = 0; // period boundaries dropped to catch up after overruns
  std::uint64_t telemetry_overflows = 0;
  std::uint64_t event_overflows = 0;
  std::uint64_t bus_errors = 0;      // read/write calls that returned non-OK
  std::uint64_t realtime_allocations = 0;  // heap allocations on loop threads since this loop was built; must stay 0
                                           // (the counter is process-wide: another loop's would show here too)
  std::uint64_t control_budget_overruns = 0;  // cycles whose control section took longer than control_budget_ns
  long long control_budget_ns = 0;            // the budget in force (LoopOptions::control_budget_us, or period / 3)
};

class ControlLoop {
 public:
  ControlLoop(const LoopOptions& options, const std::vector<JointSpec>& joints, const SafetyParams& safety);
  ~ControlLoop();
  ControlLoop(const ControlLoop&) = delete;
  ControlLoop& operator=(const ControlLoop&) = delete;

  // --- lifecycle (non-RT, loop not running) ---
  void add_bus(std::shared_ptr<Bus> bus, const std::vector<int>& joint_indices);
  // Whole-body impedance on a robot model: gravity compensation, Cartesian tasks, null-space posture.
  void set_whole_body(std::shared_ptr<WholeBodyImpedance> controller);
  // Floating base (issue 13): the base state estimator runs every cycle on the IMU and foot sensors
  // of the first bus that carries them, or (imu_from_device) on samples written with write_imu()
  // by a device thread. No new IMU sample for more than imu_stale_cycles cycles: FAULT (imu_stale).
  void set_base_sensing(std::shared_ptr<BaseStateEstimator> estimator, int imu_stale_cycles, bool imu_from_device);
  bool has_base_estimator() const { return estimator_ != nullptr; }
  int base_contacts() const { return estimator_ ? estimator_->n_contacts() : 0; }  // 0 without an estimator
  // Floating base (issue 13, standing_safety.hpp): the stop policy per cause (crouch, damp, torque
  // off), the crouch and the protective fall behaviour, fall detection every cycle. Needs the
  // base sensing set first.
  void set_standing_safety(std::shared_ptr<StandingSafety> standing);
  StandingSafety* standing_safety() const { return standing_.get(); }
  // Standing (issue 13): the contact QP whole-body controller replaces the fixed-base one while the
  // robot tracks (ENABLING, ACTIVE, HOLD) and the base state is valid; needs set_base_sensing() first.
  void set_standing(std::shared_ptr<ContactWbc> controller);
  const std::shared_ptr<ContactWbc>& contact_wbc() const { return contact_wbc_; }
  void configure();
  RealtimeSetupReport start();  // real time; throws if already running
  void stop();                  // safe stop: DAMPING (SS1) then DISABLED, then torque off and join
  void step(int cycles);        // stepped mode; throws while running in real time
  // Stepped mode: the next cycle runs `seconds` later than the period says, as after a stall of
  // the machine (the buses' physics advances over the gap; the supervisor sees the late read).
  void stall(double seconds);
  void deactivate();
  bool running() const { return running_.load(); }
  bool configured() const { return configured_; }

  // --- producers: any non-RT thread ---
  std::uint64_t write_setpoint(JointSetpoint setpoint);  // stamps sequence (and t_written when < 0); returns the sequence
  void write_gains(JointGains gains);
  // A real IMU's sample from its device thread (wait-free for the loop); stamps the sequence.
  void write_imu(ImuSample sample);
  // Cartesian tasks (need set_whole_body()). Producers edit the one TaskSet the tasks mailbox
  // keeps as last posted and publish all of it: write_tasks() replaces every slot and the gravity flag,
  // write_task() only its slot (Python's set_frame_target and the teleop receiver drive
  // different slots without overwriting each other), set_gravity_compensation() only the flag.
  void write_tasks(TaskSet tasks);
  void write_task(int slot, const CartesianTask& task);  // slot in 0..n_tasks()-1, else std::out_of_range
  void set_gravity_compensation(bool on);
  int n_tasks() const;                          // task frames of the whole-body model (0 without one)
  // Pose of task frame `slot` at q (WholeBodyImpedance::task_frame_pose); false without a model or slot.
  bool task_frame_pose(const JointVector& q, int slot, std::array<double, 3>& position,
                       std::array<double, 4>& quaternion) const {
    return whole_body_ && whole_body_->task_frame_pose(q, slot, position, quaternion);
  }
  // Keeps the watchdog alive like a setpoint written at t_written with this ttl (> 0), without
  // touching the joint target: for streams that command something else (teleop frame poses).
  // Taken only while the supervisor takes setpoints (ACTIVE, HOLD; resumes HOLD -> ACTIVE);
  // one written before an enable is stale, like a setpoint.
  void refresh_watchdog(double t_written, double ttl);
  std::uint32_t request(RequestKind kind);      // returns the request id echoed in SafetyEvent
  void estop() { request(RequestKind::kEstop); }
  double now() const;                           // loop time [s]: simulated in stepped mode
  // CLOCK_MONOTONIC [ns] at loop time 0 of the latest real-time run (0 before any): lets a recorder put
  // loop times on the machine's monotonic clock.
  long long monotonic_epoch_ns() const { return epoch_ns_.load(); }

  // --- consumers: any non-RT thread ---
  StateSnapshot read_state();
  // Calls read(const StateSnapshot&) on the newest snapshot in place, under the readers' mutex: for
  // readers that take a few fields (only n_joints entries of each array) without copying all ~6 KB.
  template <typename Read>
  void visit_state(Read&& read) {
    std::lock_guard<std::mutex> lock(state_mutex_);
    read(state_buffer_.latest());
  }
  std::size_t drain_telemetry(TelemetrySample* out, std::size_t max_count);
  // Calls visit(const TelemetrySample&, index) on up to max_count samples in the ring, in place, then
  // frees them; returns how many. For readers that copy n_joints entries straight into their columns.
  template <typename Visit>
  std::size_t consume_telemetry(std::size_t max_count, Visit&& visit) {
    std::lock_guard<std::mutex> lock(telemetry_mutex_);
    return telemetry_.consume(max_count, visit);
  }
  std::size_t telemetry_available() const { return telemetry_.size(); }
  std::size_t drain_events(SafetyEvent* out, std::size_t max_count);
  LoopStatistics statistics() const;
  const LatencyHistogram& wakeup_latency() const { return wakeup_latency_; }
  // One cycle's work: in real time from the wakeup to the cycle's end, stepped the wall time of each
  // cycle() (bus I/O included: on the MuJoCo twin the physics step runs inside the bus read).
  const LatencyHistogram& compute_time() const { return compute_time_; }
  // The control section of each cycle, in both modes: from the end of the buses' reads (IMU and
  // feet included) to the start of their writes: the estimator, fall detection, supervisor checks,
  // requests, reference, control law (impedance, whole body or contact QP), shaping and the
  // transmissions; without the bus I/O (and the twin's physics) and publish().
  const LatencyHistogram& control_time() const { return control_time_; }
  void reset_statistics();  // only while not running

  int n_joints() const { return n_; }
  double period_s() const { return period_s_; }
  const LoopOptions& options() const { return options_; }
  std::uint64_t limits_hash() const { return supervisor_.limits_hash(); }
  const JointSpec& joint(int j) const { return joints_[j]; }

 private:
  void cycle(double t, std::uint32_t compute_ns_of_previous_cycle);
  // cycle()'s steps, in the order it calls them (each says in control_loop.cpp why it is where it is).
  BusStatus read_buses(double t);
  void take_requests(BusStatus status);
  void take_setpoint(double t);
  void start_reference_from_measurement(double t);  // take_setpoint's ENABLING / RECOVERY entry action
  SupervisorState update_reference(double t);
  void compute_torque(double t, SupervisorState state);
  void write_buses(double t);
  void publish(double t, std::uint32_t compute_ns_of_previous_cycle);
  void prefetch_publish_slots();  // publish()'s cold destination lines, asked for at the cycle's start
  void realtime_main(std::promise<RealtimeSetupReport>& ready, long long first_deadline);
  void stepped_cycle();             // one cycle on the simulated clock, its wall time into compute_time_
  void begin_control_section();     // read_buses(): the measurements are in
  void end_control_section();       // write_buses(): the command is ready; records control_time_
  double stepped_time() const;  // t of the next stepped cycle
  bool safe_to_exit() const;
  void read_base_sensors(double t);  // floating base: IMU + feet, stale-IMU supervision
  void estimate_base();              // floating base: the estimator's update

  const LoopOptions options_;
  const int n_;
  const double period_s_;
  const long long period_ns_;
  const long long control_budget_ns_;           // immutable after construction
  std::vector<JointSpec> joints_;               // immutable after construction
  std::array<CommandMode, kMaxJoints> modes_{};  // immutable after construction: joints_[j].mode, packed for the cycle
  std::array<JointLimits, kMaxJoints> limits_{};  // immutable after construction (supervisor reads it)
  Transmission transmission_;                   // immutable after construction

  struct BusSlot {
    std::shared_ptr<Bus> bus;
    std::vector<int> joints;
  };
  std::vector<BusSlot> buses_;                  // fixed before configure()
  bool configured_ = false;
  std::shared_ptr<WholeBodyImpedance> whole_body_;  // fixed before configure(); compute() on the loop thread
  std::shared_ptr<BaseStateEstimator> estimator_;   // fixed before configure(); update() on the loop thread
  std::shared_ptr<ContactWbc> contact_wbc_;         // fixed before configure(); compute() on the loop thread
  int imu_stale_cycles_ = 0;                        // fixed before configure()
  std::shared_ptr<StandingSafety> standing_;        // fixed before configure(); its cycle methods on the loop thread
  bool imu_from_device_ = false;                    // fixed before configure()

  // Loop thread only.
  SafetySupervisor supervisor_;
  SetpointInterpolator interpolator_;
  JointState motor_state_{}, joint_state_{};
  JointCommand command_{}, motor_command_{};
  JointSetpoint setpoint_{};                    // latest received copy
  std::uint64_t setpoint_applied_ = 0;          // sequence of the setpoint in the interpolator
  double setpoint_applied_t_ = 0.0;             // loop time when it entered the interpolator (clock time in real time)
  struct SetpointStamps {                       // the applied setpoint's stamps, for telemetry
    std::uint64_t sequence = 0;
    SetpointSource source = SetpointSource::kApi;
    double t_written = 0.0, t_target = 0.0;
  } setpoint_in_use_{};
  JointGains gains_{};                          // latest received copy
  double enable_ramp_ = 0.0;                    // the ramp compute_torque() used this cycle (published)
  TaskSet tasks_{};                             // latest received copy
  TaskSet tasks_effective_{};                   // what compute() gets: stale streamed tasks (or all, DAMPING) off
  struct TasksFilter {                          // what tasks_effective_ was filtered from (refiltered on change)
    std::uint64_t sequence = ~std::uint64_t{0};  // tasks_.sequence (none yet: matches no real sequence)
    bool drop_all = false;                      // DAMPING or RECOVERY: every task off
    double enabled_t = 0.0;                     // enabled_t_: streamed tasks written before it are stale
    bool operator==(const TasksFilter& o) const {
      return sequence == o.sequence && drop_all == o.drop_all && enabled_t == o.enabled_t;
    }
  } tasks_effective_filter_{};
  double enabled_t_ = -1e300;                   // loop time of the latest ENABLING entry
  WatchdogRefresh watchdog_{};                  // latest received copy
  std::uint64_t watchdog_applied_ = 0;          // sequence of the last refresh taken
  JointVector tau_joint_{}, kd_joint_{}, tau_whole_body_{};  // joint law, its damping gain, whole-body total
  JointVector q_ref_{}, dq_ref_{}, tau_previous_{};
  JointVector ref_step_velocity_{};             // (q_ref - last q_ref) / dt: what SLA limits the change of
  JointVector tau_ff_{};                        // feed-forward of the applied setpoint (zero on enable)
  std::uint64_t cycle_ = 0;
  double t_ = 0.0;                              // t of the last cycle
  double time_base_ = 0.0;                      // stepped time: time_base_ + (cycle_ - cycle_base_) * period
  std::uint64_t cycle_base_ = 0;                // (moved on after a real-time run, so time never goes back)
  Request pending_requests_[16]{};
  std::array<TaskStatus, kMaxTasks> task_status_{};  // whole-body task errors of the last cycle
  BaseSensors base_sensors_{};                  // floating base: the latest IMU and foot samples
  BaseState base_state_{};                      // the estimator's output
  std::uint64_t imu_sequence_seen_ = 0;         // sequence of the last IMU sample taken
  int imu_missed_cycles_ = 0;                   // consecutive cycles without a new IMU sample
  long long control_start_ns_ = 0;              // CLOCK_MONOTONIC at this cycle's begin_control_section()
  std::uint64_t standing_solves_seen_ = 0;      // floating base: ContactWbc::status_count() at the last publish()

  // Shared.
  // Producers -> loop: each Mailbox serialises its writers under its own mutex (never taken by the
  // loop), stamps the sequence and hands over through a triple buffer the loop reads wait-free.
  Mailbox<JointSetpoint> setpoint_mailbox_;      // API, teleop receiver, skills -> loop
  Mailbox<JointGains> gains_mailbox_;            // API, teleop receiver -> loop
  Mailbox<TaskSet> tasks_mailbox_;               // API, teleop receiver -> loop (keeps every slot as last written)
  Mailbox<WatchdogRefresh> watchdog_mailbox_;    // pose streams -> loop
  Mailbox<ImuSample> imu_mailbox_;               // IMU device thread -> loop
  TripleBuffer<StateSnapshot> state_buffer_;     // loop -> readers (under state_mutex_)
  SpscRing<TelemetrySample> telemetry_;          // loop -> one reader (under telemetry_mutex_)
  SpscRing<Request> requests_;                   // producers (under request_mutex_) -> loop
  std::mutex state_mutex_, telemetry_mutex_, events_mutex_, request_mutex_;
  std::uint32_t request_id_ = 0;                // under request_mutex_
  std::atomic<std::uint32_t> estop_request_{0}; // any thread sets (request id), loop clears: e-stop never waits on the queue
  std::atomic<bool> stop_flag_{false};          // any thread sets, loop reads
  std::atomic<bool> running_{false};
  std::atomic<long long> epoch_ns_{0};          // CLOCK_MONOTONIC at loop time 0 (real time)
  std::atomic<double> loop_time_{0.0};          // t of the last cycle, written by the loop thread
  std::atomic<std::uint64_t> cycles_{0}, overruns_{0}, skipped_periods_{0}, bus_errors_{0};
  LatencyHistogram wakeup_latency_;             // written by the loop thread
  LatencyHistogram compute_time_;               // written by the loop thread
  LatencyHistogram control_time_;               // written by the loop thread
  std::atomic<std::uint64_t> control_budget_overruns_{0};  // written by the loop thread (load + store: one writer)
  std::thread thread_;                          // owned by the thread calling start()/stop()
  std::uint64_t allocations_at_construction_ = 0;  // immutable after construction
  int cpu_dma_latency_fd_ = -1;                 // owned by the thread calling start()/stop()
};

}  // namespace humanoid_rt
