#include "humanoid_rt/control_loop.hpp"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "humanoid_rt/allocation_monitor.hpp"
#include "humanoid_rt/joint_impedance.hpp"
#include "humanoid_rt/reference_shaper.hpp"

namespace humanoid_rt {

namespace {
// HOLD decelerates the reference to rest over this time (constant deceleration).
constexpr double kHoldSettleS = 0.1;

BusStatus worse(BusStatus a, BusStatus b) { return static_cast<int>(a) >= static_cast<int>(b) ? a : b; }

// The control section's budget: the option, or a third of the period (the rest is left to the bus
// I/O, publishing and the wakeup latency).
long long control_budget_ns_of(const LoopOptions& options) {
  if (!(std::isfinite(options.control_budget_us) && options.control_budget_us >= 0.0 && options.control_budget_us <= 1e6))
    throw std::invalid_argument("control_budget_us: allowed: 0 (a third of the period) or a number of microseconds "
                                "in (0, 1e6]");
  if (options.control_budget_us > 0.0) return std::llround(options.control_budget_us * 1e3);
  return std::llround(1e9 / options.rate_hz / 3.0);
}

std::array<JointLimits, kMaxJoints> limits_of(const std::vector<JointSpec>& joints) {
  std::array<JointLimits, kMaxJoints> limits{};
  for (std::size_t j = 0; j < joints.size() && j < limits.size(); ++j) limits[j] = joints[j].limits;
  return limits;
}
}  // namespace

ControlLoop::ControlLoop(const LoopOptions& options, const std::vector<JointSpec>& joints, const SafetyParams& safety)
    : options_(options),
      n_(static_cast<int>(joints.size())),
      period_s_(1.0 / options.rate_hz),
      period_ns_(static_cast<long long>(std::llround(1e9 / options.rate_hz))),
      control_budget_ns_(control_budget_ns_of(options)),
      joints_(joints),
      limits_(limits_of(joints)),
      supervisor_((joints.size() <= kMaxJoints ? static_cast<int>(joints.size()) : 0), limits_.data(), safety,
                  1.0 / options.rate_hz, options.event_capacity),
      telemetry_(options.telemetry_capacity),
      requests_(options.request_capacity) {
  if (n_ < 1 || n_ > kMaxJoints) throw std::invalid_argument("joint count must be in 1..64");
  if (!(options.rate_hz >= 1.0 && options.rate_hz <= 20000.0)) throw std::invalid_argument("rate_hz must be in 1..20000");
  if (options.telemetry_decimation < 1) throw std::invalid_argument("telemetry_decimation must be >= 1");
  for (int j = 0; j < n_; ++j) {
    transmission_.set(j, joints[j].transmission);
    modes_[j] = joints[j].mode;
    gains_.kp[j] = joints[j].kp;
    gains_.kd[j] = joints[j].kd;
  }
  gains_mailbox_.post(gains_);
  interpolator_.reset(n_, 0.0, q_ref_);
  allocations_at_construction_ = realtime_allocations();
}

ControlLoop::~ControlLoop() {
  if (running_.load()) {
    stop_flag_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  release_cpu_dma_latency(cpu_dma_latency_fd_);
}

void ControlLoop::add_bus(std::shared_ptr<Bus> bus, const std::vector<int>& joint_indices) {
  if (configured_) throw std::logic_error("add_bus() after configure()");
  for (int j : joint_indices)
    if (j < 0 || j >= n_) throw std::out_of_range("bus joint index out of range");
  buses_.push_back({std::move(bus), joint_indices});
}

void ControlLoop::set_whole_body(std::shared_ptr<WholeBodyImpedance> controller) {
  if (configured_) throw std::logic_error("set_whole_body() after configure()");
  if (controller && controller->n_joints() != n_) throw std::invalid_argument("whole-body model joint count differs");
  whole_body_ = std::move(controller);
}

void ControlLoop::set_base_sensing(std::shared_ptr<BaseStateEstimator> estimator, int imu_stale_cycles,
                                   bool imu_from_device) {
  if (configured_) throw std::logic_error("set_base_sensing() after configure()");
  if (estimator && estimator->n_joints() != n_) throw std::invalid_argument("base estimator joint count differs");
  if (imu_stale_cycles < 0) throw std::invalid_argument("model.imu.stale_cycles: must be >= 0");
  estimator_ = std::move(estimator);
  imu_stale_cycles_ = imu_stale_cycles;
  imu_from_device_ = imu_from_device;
}

void ControlLoop::set_standing_safety(std::shared_ptr<StandingSafety> standing) {
  if (configured_) throw std::logic_error("set_standing_safety() after configure()");
  if (standing && !estimator_) throw std::invalid_argument("standing safety needs a floating base (set_base_sensing first)");
  if (standing) supervisor_.set_stop_policy(standing->options().policy, standing->options().fall_protect_time_s);
  standing_ = std::move(standing);
}

void ControlLoop::set_standing(std::shared_ptr<ContactWbc> controller) {
  if (configured_) throw std::logic_error("set_standing() after configure()");
  if (controller && !estimator_) throw std::logic_error("set_standing() needs the base state estimator (set_base_sensing)");
  if (controller && controller->n_joints() != n_) throw std::invalid_argument("standing controller joint count differs");
  contact_wbc_ = std::move(controller);
}

void ControlLoop::write_imu(ImuSample sample) { imu_mailbox_.post(sample); }

void ControlLoop::configure() {
  if (running_.load()) throw std::logic_error("configure() while running");
  if (estimator_ && !imu_from_device_ &&
      std::none_of(buses_.begin(), buses_.end(), [](const BusSlot& slot) { return slot.bus->carries_imu(); }))
    throw std::invalid_argument("model.imu: a floating base needs an IMU, and no bus of this robot carries one "
                                "(allowed: a bus with an IMU such as mujoco or mock, or model.imu.source: device)");
  std::vector<int> owner(n_, -1);
  for (std::size_t b = 0; b < buses_.size(); ++b)
    for (int j : buses_[b].joints) {
      if (owner[j] >= 0) throw std::invalid_argument("joint " + std::to_string(j) + " is on two buses");
      owner[j] = static_cast<int>(b);
    }
  for (int j = 0; j < n_; ++j)
    if (owner[j] < 0) throw std::invalid_argument("joint " + std::to_string(j) + " is on no bus");
  for (auto& slot : buses_) {
    slot.bus->configure(slot.joints, period_s_);
    slot.bus->activate();
  }
  configured_ = true;
}

void ControlLoop::deactivate() {
  if (running_.load()) throw std::logic_error("deactivate() while running; stop() first");
  for (auto& slot : buses_) slot.bus->deactivate();
  configured_ = false;
}

double ControlLoop::now() const {
  if (running_.load()) return static_cast<double>(monotonic_now_ns() - epoch_ns_.load()) * 1e-9;
  return loop_time_.load();
}

std::uint64_t ControlLoop::write_setpoint(JointSetpoint setpoint) {
  return setpoint_mailbox_.post_edit([this, &setpoint](JointSetpoint& slot) {
    slot = setpoint;
    if (slot.t_written < 0.0) slot.t_written = now();  // stamped in writing order, under the writers' lock
  });
}

void ControlLoop::write_gains(JointGains gains) { gains_mailbox_.post(gains); }

std::uint32_t ControlLoop::request(RequestKind kind) {
  std::lock_guard<std::mutex> lock(request_mutex_);
  const std::uint32_t id = ++request_id_;
  if (kind == RequestKind::kEstop) {
    estop_request_.store(id);
    return id;
  }
  if (!requests_.push(Request{id, kind}))
    throw std::runtime_error(running_.load() ? "request queue full: the loop thread is not keeping up"
                                             : "request queue full: in stepped mode call step() to serve requests");
  return id;
}

void ControlLoop::write_tasks(TaskSet tasks) {
  if (!whole_body_) throw std::logic_error("no whole-body model: tasks need a robot model");
  tasks_mailbox_.post(tasks);
}

int ControlLoop::n_tasks() const { return whole_body_ ? static_cast<int>(whole_body_->task_frames().size()) : 0; }

void ControlLoop::write_task(int slot, const CartesianTask& task) {
  if (!whole_body_) throw std::logic_error("no whole-body model: tasks need a robot model");
  if (slot < 0 || slot >= n_tasks())
    throw std::out_of_range("slot: " + std::to_string(slot) + "; allowed: 0.." + std::to_string(n_tasks() - 1) +
                            " (the model's task frames)");
  tasks_mailbox_.post_edit([slot, &task](TaskSet& tasks) { tasks.tasks[slot] = task; });
}

void ControlLoop::set_gravity_compensation(bool on) {
  if (!whole_body_) throw std::logic_error("no whole-body model: gravity compensation needs a robot model");
  tasks_mailbox_.post_edit([on](TaskSet& tasks) { tasks.gravity_compensation = on; });
}

void ControlLoop::refresh_watchdog(double t_written, double ttl) {
  if (!(ttl > 0.0 && std::isfinite(ttl) && std::isfinite(t_written)))
    throw std::invalid_argument("ttl: allowed: a finite number > 0; t_written: a finite loop time");
  watchdog_mailbox_.post(WatchdogRefresh{0, t_written, ttl});
}

StateSnapshot ControlLoop::read_state() {
  std::lock_guard<std::mutex> lock(state_mutex_);
  return state_buffer_.latest();
}

std::size_t ControlLoop::drain_telemetry(TelemetrySample* out, std::size_t max_count) {
  std::lock_guard<std::mutex> lock(telemetry_mutex_);
  return telemetry_.pop_into(out, max_count);
}

std::size_t ControlLoop::drain_events(SafetyEvent* out, std::size_t max_count) {
  std::lock_guard<std::mutex> lock(events_mutex_);
  return supervisor_.events().pop_into(out, max_count);
}

LoopStatistics ControlLoop::statistics() const {
  LoopStatistics s;
  s.cycles = cycles_.load();
  s.overruns = overruns_.load();
  s.skipped_periods = skipped_periods_.load();
  s.telemetry_overflows = telemetry_.overflows();
  s.event_overflows = supervisor_.event_overflows();
  s.bus_errors = bus_errors_.load();
  s.realtime_allocations = realtime_allocations() - allocations_at_construction_;
  s.control_budget_overruns = control_budget_overruns_.load(std::memory_order_relaxed);
  s.control_budget_ns = control_budget_ns_;
  return s;
}

void ControlLoop::reset_statistics() {
  if (running_.load()) throw std::logic_error("reset_statistics() while running");
  wakeup_latency_.reset();
  compute_time_.reset();
  control_time_.reset();
  control_budget_overruns_.store(0);
  overruns_.store(0);
  skipped_periods_.store(0);
}

bool ControlLoop::safe_to_exit() const {
  const SupervisorState s = supervisor_.state();
  return (s == SupervisorState::kDisabled || s == SupervisorState::kFault || s == SupervisorState::kEstop) &&
         !supervisor_.torque_on();
}

void ControlLoop::step(int cycles) {
  if (running_.load()) throw std::logic_error("step() while the real-time loop runs");
  if (!configured_) throw std::logic_error("step() before configure()");
  RealtimeScope realtime;  // the same discipline as the RT thread: allocations are counted
  for (int i = 0; i < cycles; ++i) stepped_cycle();
}

void ControlLoop::stepped_cycle() {
  const long long start = monotonic_now_ns();
  cycle(stepped_time(), 0);
  compute_time_.record(monotonic_now_ns() - start);
}

void ControlLoop::stall(double seconds) {
  if (running_.load()) throw std::logic_error("stall() is for stepped mode; the real-time loop is running");
  if (!(seconds >= 0.0 && seconds <= 60.0)) throw std::invalid_argument("seconds: allowed: 0..60");
  time_base_ += seconds;  // the next stepped cycle runs this much later than the period says
}

double ControlLoop::stepped_time() const {
  return time_base_ + static_cast<double>(cycle_ - cycle_base_) * period_s_;
}

RealtimeSetupReport ControlLoop::start() {
  if (!configured_) throw std::logic_error("start() before configure()");
  if (running_.load()) throw std::logic_error("the loop is already running");
  stop_flag_.store(false);
  supervisor_.clear_shutdown();
  std::string notes;
  cpu_dma_latency_fd_ = hold_cpu_dma_latency_zero(notes);
  bool locked = false;
  if (options_.lock_memory)
    locked = lock_process_memory(notes);
  else
    notes += "memory locking disabled by configuration. ";

  // Loop time continues from where stepped mode (or an earlier run) left it.
  const long long first_deadline = monotonic_now_ns() + period_ns_;
  epoch_ns_.store(first_deadline - static_cast<long long>(std::llround(stepped_time() * 1e9)));

  // The RT thread must never run Python signal handling: block every signal in it.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  auto ready = std::make_shared<std::promise<RealtimeSetupReport>>();
  auto report_future = ready->get_future();
  running_.store(true);
  try {
    thread_ = std::thread([this, ready, first_deadline] { realtime_main(*ready, first_deadline); });
  } catch (...) {
    running_.store(false);
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    release_cpu_dma_latency(cpu_dma_latency_fd_);
    cpu_dma_latency_fd_ = -1;
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  RealtimeSetupReport report = report_future.get();
  report.memory_locked = locked;
  report.cpu_dma_latency_zero = cpu_dma_latency_fd_ >= 0;
  report.notes = notes + report.notes;
  return report;
}

void ControlLoop::stop() {
  if (running_.load()) {
    stop_flag_.store(true);
    if (thread_.joinable()) thread_.join();
    release_cpu_dma_latency(cpu_dma_latency_fd_);
    cpu_dma_latency_fd_ = -1;
    if (options_.lock_memory) unlock_process_memory();
    // Stepped mode continues after the last real-time cycle.
    time_base_ = t_ + period_s_;
    cycle_base_ = cycle_;
    return;
  }
  if (!configured_ || safe_to_exit()) return;  // nothing to stop: no cycle runs on the caller's thread
  // Stepped mode: run the same safe stop on the simulated clock. The cycle that makes it
  // safe to exit has already written torque off.
  stop_flag_.store(true);
  RealtimeScope realtime;
  const int max_cycles = static_cast<int>(std::ceil(supervisor_.params().damping_time_s / period_s_)) + 4;
  for (int i = 0; i < max_cycles && !safe_to_exit(); ++i) stepped_cycle();
  stop_flag_.store(false);
  supervisor_.clear_shutdown();
}

void ControlLoop::realtime_main(std::promise<RealtimeSetupReport>& ready, long long first_deadline) {
  RealtimeSetupReport report;
  setup_current_thread(options_.priority, options_.cpu, report);
  long long next = first_deadline;
  ready.set_value(report);
  RealtimeScope realtime;

  std::uint32_t last_compute_ns = 0;
  for (;;) {
    sleep_until_ns(next);
    const long long wake = monotonic_now_ns();
    wakeup_latency_.record(wake - next);
    cycle(static_cast<double>(next - epoch_ns_.load(std::memory_order_relaxed)) * 1e-9, last_compute_ns);
    const long long end = monotonic_now_ns();
    compute_time_.record(end - wake);
    last_compute_ns = static_cast<std::uint32_t>(std::min<long long>(end - wake, 0xffffffffLL));
    if (stop_flag_.load(std::memory_order_relaxed) && safe_to_exit()) break;
    next += period_ns_;
    if (end > next) {
      // Overrun: drop the boundaries already passed rather than running cycles back to back.
      overruns_.fetch_add(1, std::memory_order_relaxed);
      while (next <= end) {
        next += period_ns_;
        skipped_periods_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  running_.store(false);
}

// One cycle: the seven steps below, always all of them and in this order. Each step's comment says
// why it sits where it does; the order is the contract the stepped tests pin down.
void ControlLoop::cycle(double t, std::uint32_t compute_ns_of_previous_cycle) {
  t_ = t;
  prefetch_publish_slots();
  supervisor_.begin_cycle(cycle_, t);
  const BusStatus status = read_buses(t);
  take_requests(status);
  take_setpoint(t);
  const SupervisorState state = update_reference(t);
  compute_torque(t, state);
  write_buses(t);
  publish(t, compute_ns_of_previous_cycle);
  loop_time_.store(t, std::memory_order_relaxed);
  ++cycle_;
  cycles_.store(cycle_, std::memory_order_relaxed);
}

// First: every decision of this cycle (requests, reference, torque) is made on this cycle's
// measurements, checked by the supervisor before anything acts on them.
BusStatus ControlLoop::read_buses(double t) {
  BusStatus status = BusStatus::kOk;
  for (auto& slot : buses_) {
    const BusStatus s = slot.bus->read(t, motor_state_);
    if (s != BusStatus::kOk) bus_errors_.fetch_add(1, std::memory_order_relaxed);
    status = worse(status, s);
  }
  if (estimator_) read_base_sensors(t);  // the IMU and feet: the last of the bus I/O
  begin_control_section();
  transmission_.state_to_joint(n_, motor_state_, joint_state_);
  // When the buses were read: the clock in real time (a stalled machine shows here), t when stepped.
  const double t_measured =
      running_.load(std::memory_order_relaxed)
          ? std::max(t, static_cast<double>(monotonic_now_ns() - epoch_ns_.load(std::memory_order_relaxed)) * 1e-9)
          : t;
  supervisor_.check_measurements(status, joint_state_, tau_previous_, dq_ref_, t_measured);
  if (estimator_) estimate_base();
  if (standing_)  // floating base: fall detection on this cycle's estimate (standing_safety.hpp)
    standing_->check_fall(supervisor_, base_state_, base_sensors_, joint_state_.q, estimator_->contact_schedule() != 0);
  return status;
}

// After the measurements (enable and reset are refused on a bad one), before the setpoint: a
// request decides whether this cycle takes setpoints at all. E-stop first, then the queue, then
// shutdown.
void ControlLoop::take_requests(BusStatus status) {
  if (const std::uint32_t id = estop_request_.exchange(0, std::memory_order_acq_rel))
    supervisor_.handle_request({id, RequestKind::kEstop}, status, joint_state_);
  const std::size_t pending = requests_.pop_into(pending_requests_, std::size(pending_requests_));
  for (std::size_t i = 0; i < pending; ++i) supervisor_.handle_request(pending_requests_[i], status, joint_state_);
  if (stop_flag_.load(std::memory_order_relaxed)) supervisor_.request_shutdown();
}

// After the requests (an enable in this cycle makes everything written before it stale), before
// the reference: a new target starts its segment from last cycle's reference, so this cycle
// already advances along it.
void ControlLoop::take_setpoint(double t) {
  // The latest copies change rarely: copied only when new (a setpoint is ~1.6 KB).
  setpoint_mailbox_.take_if_new(setpoint_);
  watchdog_mailbox_.take_if_new(watchdog_);
  if (supervisor_.entered_this_cycle(SupervisorState::kEnabling) ||
      supervisor_.entered_this_cycle(SupervisorState::kRecovery))
    start_reference_from_measurement(t);

  // The newest setpoint, if it is new, still alive, and the supervisor takes setpoints now.
  if (supervisor_.accepts_setpoints() && setpoint_.sequence > setpoint_applied_) {
    setpoint_applied_ = setpoint_.sequence;  // consumed either way: an expired one is never applied later
    if (supervisor_.setpoint_alive(setpoint_.t_written, setpoint_.ttl)) {
      // q_ref_/dq_ref_ are last cycle's reference: the new segment starts there and then, so this
      // cycle already advances along it (starting at t would stall the reference for one cycle).
      interpolator_.set_target(t - period_s_, q_ref_, dq_ref_, setpoint_);
      tau_ff_ = setpoint_.tau_ff;
      // When the target entered the command path: the clock in real time (wakeup latency included), t when stepped.
      setpoint_applied_t_ = running_.load(std::memory_order_relaxed)
                                ? static_cast<double>(monotonic_now_ns() - epoch_ns_.load(std::memory_order_relaxed)) * 1e-9
                                : t;
      supervisor_.on_setpoint_applied(setpoint_.t_written, setpoint_.ttl);
      setpoint_in_use_ = {setpoint_.sequence, setpoint_.source, setpoint_.t_written, setpoint_.t_target};
    }
  }

  // A watchdog refresh (a stream commanding tasks, not joints): the same liveness rule.
  if (supervisor_.accepts_setpoints() && watchdog_.sequence > watchdog_applied_) {
    watchdog_applied_ = watchdog_.sequence;
    if (supervisor_.setpoint_alive(watchdog_.t_written, watchdog_.ttl))
      supervisor_.on_setpoint_applied(watchdog_.t_written, watchdog_.ttl);
  }
}

// ENABLING's and RECOVERY's entry action, inside take_setpoint: it must run after the mailboxes are
// read (what was written before the enable is marked stale) and before the newest setpoint is
// considered (a target written after the enable starts from the measured position).
void ControlLoop::start_reference_from_measurement(double t) {
  // Enable (and recovery) starts from the measured position at rest, with no feed-forward: nothing
  // jumps; a joint outside the soft range walks back in under the reference's limits.
  for (int j = 0; j < n_; ++j) {
    q_ref_[j] = joint_state_.q[j];
    dq_ref_[j] = 0.0;
    ref_step_velocity_[j] = 0.0;
  }
  JointVector rest = q_ref_;
  if (supervisor_.state() == SupervisorState::kRecovery) {
    // RECOVERY's goal: a quarter of the soft margin inside the soft range (inside, where no wall
    // torque acts once it ends), for joints outside it; the others hold where they are.
    for (int j = 0; j < n_; ++j) {
      const JointLimits& l = limits_[j];
      if (rest[j] > l.q_soft_max) rest[j] = l.q_soft_max - 0.25 * (l.q_max - l.q_soft_max);
      if (rest[j] < l.q_soft_min) rest[j] = l.q_soft_min + 0.25 * (l.q_soft_min - l.q_min);
    }
  }
  interpolator_.reset(n_, t, rest);
  tau_ff_.fill(0.0);
  setpoint_applied_ = setpoint_.sequence;  // whatever was written before enable is stale
  watchdog_applied_ = watchdog_.sequence;
  enabled_t_ = t;
  if (contact_wbc_) contact_wbc_->reset();  // the standing references anchor where the robot stands now
}

// After the setpoint (the watchdog's timers see this cycle's refresh), before the torque: the
// time-driven transitions (HOLD, DAMPING's end, ramps) decide which reference the law tracks, and
// HOLD's entry re-anchors it. Returns the supervisor state the torque is computed for.
SupervisorState ControlLoop::update_reference(double t) {
  // HOLD's standstill window is monitored around the reference, which decelerates (SS2) and then rests (SOS).
  supervisor_.update_timers(joint_state_, q_ref_);
  if (standing_)  // floating base: a crouch stop plans, completes, or finds its support
    standing_->update_crouch(supervisor_, t, period_s_, limits_.data(), joint_state_, base_state_, interpolator_, q_ref_,
                             dq_ref_, ref_step_velocity_);
  const SupervisorState state = supervisor_.state();
  if (supervisor_.entered_this_cycle(SupervisorState::kHold)) {
    // With Cartesian tasks acting, the body is not at the posture reference: the tasks hold it
    // elsewhere and the posture only acts in their null space. HOLD then re-anchors the posture
    // on the measured joints (decelerating from their velocity), so the standstill window is
    // watched around where the body is and the posture does not pull the tasks' joints back
    // once the tasks drop. The posture torque barely changes: its component along the tasks was
    // projected out anyway, and in their null space it had converged to this posture.
    bool tasks_acting = false;
    for (const TaskStatus& status : task_status_) tasks_acting = tasks_acting || status.enabled;
    if (tasks_acting) {
      for (int j = 0; j < n_; ++j) {
        if (!std::isfinite(joint_state_.q[j]) || !std::isfinite(joint_state_.dq[j])) continue;
        q_ref_[j] = std::clamp(joint_state_.q[j], limits_[j].q_soft_min, limits_[j].q_soft_max);
        dq_ref_[j] = std::clamp(joint_state_.dq[j], -limits_[j].velocity, limits_[j].velocity);
      }
    }
    // Settle at constant deceleration within every joint's acceleration limit (SLA).
    double settle_s = kHoldSettleS;
    for (int j = 0; j < n_; ++j) settle_s = std::max(settle_s, std::abs(dq_ref_[j]) / limits_[j].acceleration);
    interpolator_.settle_from(t - period_s_, q_ref_, dq_ref_, settle_s);
  }

  // Reference: interpolated, then SLP (inside the soft wall, braking to it), SLA (acceleration)
  // and SLI (step <= velocity limit * dt): reference_shaper.hpp.
  const bool crouching = supervisor_.crouching();  // floating base: SS1 into a safe pose tracks its trajectory
  const bool tracking = state == SupervisorState::kEnabling || state == SupervisorState::kActive ||
                        state == SupervisorState::kHold || state == SupervisorState::kRecovery || crouching;
  if (tracking) {
    JointVector q_raw, dq_raw;
    interpolator_.sample(t, q_raw, dq_raw);
    for (int j = 0; j < n_; ++j) {
      const JointLimits& l = limits_[j];
      const ReferenceLimits reference_limits{l.q_soft_min, l.q_soft_max, supervisor_.reference_velocity(j), l.acceleration};
      const ReferenceSample r = shape_reference(q_ref_[j], ref_step_velocity_[j], q_raw[j], dq_raw[j], reference_limits,
                                                period_s_);
      q_ref_[j] = r.q;
      dq_ref_[j] = r.dq;
      ref_step_velocity_[j] = r.v_step;
    }
  } else {
    // Not tracking: the reference follows the measurement so a later enable starts there.
    for (int j = 0; j < n_; ++j) {
      q_ref_[j] = std::isfinite(joint_state_.q[j]) ? joint_state_.q[j] : q_ref_[j];
      dq_ref_[j] = 0.0;
      ref_step_velocity_[j] = 0.0;
    }
  }
  return state;
}

// After the reference (the law tracks this cycle's), before the write: the control law, joint
// impedance (or damping), through the whole-body model when there is one, then the supervisor's
// shaping per joint, packed into command_. Torque off (STO) when the supervisor says so or a
// command is not finite.
void ControlLoop::compute_torque(double t, SupervisorState state) {
  const bool torque_on = supervisor_.torque_on();
  gains_mailbox_.take_if_new(gains_);
  tasks_mailbox_.take_if_new(tasks_);
  const double ramp = supervisor_.enable_ramp();
  enable_ramp_ = ramp;
  const bool damping = supervisor_.damping_only();
  // A crouch stop of a standing robot tracks its trajectory on stiffened legs (standing_safety.hpp).
  const StandingStopOptions* crouch = standing_ && supervisor_.crouching() ? &standing_->options() : nullptr;
  for (int j = 0; j < n_ && torque_on; ++j) {
    const double q = joint_state_.q[j], dq = joint_state_.dq[j];
    kd_joint_[j] = damping ? limits_[j].damping_kd : ramp * gains_.kd[j] * (crouch ? crouch->crouch_damping_scale[j] : 1.0);
    if (damping) {
      tau_joint_[j] = joint_impedance_torque(0.0, kd_joint_[j], q, 0.0, 0.0, q, dq);
    } else {
      const double kp = ramp * gains_.kp[j] * (crouch ? crouch->crouch_stiffness_scale[j] : 1.0);
      tau_joint_[j] = joint_impedance_torque(kp, kd_joint_[j], q_ref_[j], dq_ref_[j], tau_ff_[j], q, dq);
    }
  }
  if (standing_ && torque_on && supervisor_.fall_protecting())  // floating base: arms in while falling
    standing_->tuck_torque(limits_.data(), gains_.kp, joint_state_, tau_joint_);
  // Standing (contact QP) while tracking with a valid base state; otherwise, or when it cannot run, the
  // fixed-base whole-body controller (DAMPING, RECOVERY and stops keep today's behaviour).
  bool standing_computed = false;
  const bool standing_tracking = state == SupervisorState::kEnabling || state == SupervisorState::kActive ||
                                 state == SupervisorState::kHold;
  if (whole_body_ && torque_on) {
    // DAMPING keeps gravity compensation (a controlled stop, not a sag) but drops the Cartesian tasks
    // (RECOVERY too: only the joints move, back into their range);
    // a streamed task written before the latest enable is stale and never acts again.
    // (The ~1.6 KB copy is made only when a task is on: with none, switching tasks off changes nothing;
    // and only when the tasks or what the filter reads changed: not a per-cycle cost.)
    static_assert(std::is_trivially_copyable_v<TaskSet>);
    bool any_task = false;
    for (const auto& task : tasks_.tasks) any_task = any_task || task.enabled;
    const TaskSet* effective = &tasks_;
    if (any_task) {
      // A crouch (SS1 into a safe pose, standing_safety.hpp) tracks its joint trajectory only.
      const bool drop_all = damping || supervisor_.crouching() || state == SupervisorState::kRecovery;
      const TasksFilter filter{tasks_.sequence, drop_all, enabled_t_};
      if (!(filter == tasks_effective_filter_)) {
        tasks_effective_ = tasks_;
        for (auto& task : tasks_effective_.tasks)
          if (drop_all || (task.ttl > 0.0 && task.t_written < enabled_t_)) task.enabled = false;
        tasks_effective_filter_ = filter;
      }
      effective = &tasks_effective_;
    }
    if (contact_wbc_ && !damping && standing_tracking)
      standing_computed = contact_wbc_->compute(t, joint_state_.q, joint_state_.dq, q_ref_, dq_ref_, base_state_, *effective,
                                                tau_joint_, ramp, tau_whole_body_, task_status_);
    if (!standing_computed)
      whole_body_->compute(t, joint_state_.q, joint_state_.dq, tau_joint_, kd_joint_, *effective,
                           damping ? 1.0 : ramp, tau_whole_body_, task_status_);
  } else {
    for (auto& status : task_status_) status.enabled = false;
  }
  const JointVector& tau_total = whole_body_ ? tau_whole_body_ : tau_joint_;
  bool command_ok = true;
  for (int j = 0; j < n_ && torque_on; ++j) {
    const double q = joint_state_.q[j], dq = joint_state_.dq[j];
    const double tau = tau_total[j];
    if (!std::isfinite(tau)) {
      supervisor_.fault_non_finite_command(j, tau);
      command_ok = false;
      break;
    }
    const double tau_safe = supervisor_.shape_torque(j, tau, q, tau_previous_[j]);
    if (modes_[j] == CommandMode::kDriveImpedance) {
      // The drive closes the joint law; everything else (gravity, tasks, shaping) rides in tau_ff.
      const double kp = damping ? 0.0 : ramp * gains_.kp[j];
      const double kd = damping ? limits_[j].damping_kd : ramp * gains_.kd[j];
      const double q_d = damping ? q : q_ref_[j], dq_d = damping ? 0.0 : dq_ref_[j];
      const double tau_ff = damping ? 0.0 : tau_ff_[j];
      pack_drive_impedance(j, kp, kd, q_d, dq_d, tau_ff, q, dq, tau_safe, command_);
    } else {
      pack_torque(j, tau_safe, command_);
    }
    command_.torque_enabled[j] = 1;
    tau_previous_[j] = tau_safe;
  }
  if (!torque_on || !command_ok) {
    for (int j = 0; j < n_; ++j) {  // STO
      pack_torque(j, 0.0, command_);
      command_.torque_enabled[j] = 0;
      tau_previous_[j] = 0.0;
    }
  }
}

// After the torque, as early as possible in the cycle: the command reaches the drives before any
// bookkeeping (publishing) adds to the measurement-to-command latency.
void ControlLoop::write_buses(double t) {
  transmission_.command_to_motor(n_, command_, motor_command_);
  end_control_section();
  for (auto& slot : buses_)
    if (slot.bus->write(t, motor_command_) != BusStatus::kOk) bus_errors_.fetch_add(1, std::memory_order_relaxed);
}

// The control section (control_time()): what the cycle computes between the buses' reads (joints,
// IMU, feet) and their writes. Loop thread.
void ControlLoop::begin_control_section() { control_start_ns_ = monotonic_now_ns(); }

void ControlLoop::end_control_section() {
  const long long elapsed = monotonic_now_ns() - control_start_ns_;
  control_time_.record(elapsed);
  if (elapsed > control_budget_ns_)  // one writer: a load and a store, no locked read-modify-write
    control_budget_overruns_.store(control_budget_overruns_.load(std::memory_order_relaxed) + 1,
                                   std::memory_order_relaxed);
}

// publish() writes ~3 KB (31 joints) into a telemetry slot the ring has not touched for
// telemetry_capacity cycles and a snapshot slot two cycles old: after the loop's sleep on a busy
// machine, cache misses, one after another, at the end of the cycle (the compute-time tail). Asked
// for at the start, the lines arrive while the buses are read. A prefetch changes no data.
void ControlLoop::prefetch_publish_slots() {
  constexpr std::size_t kLine = 64;
  const std::size_t joint_bytes = static_cast<std::size_t>(n_) * sizeof(double);
  auto prefetch_joints = [joint_bytes](const JointVector& v) {
    const char* begin = reinterpret_cast<const char*>(v.data());
    for (std::size_t offset = 0; offset < joint_bytes; offset += kLine) __builtin_prefetch(begin + offset, 1, 3);
  };
  if (cycle_ % static_cast<std::uint64_t>(options_.telemetry_decimation) == 0) {
    const TelemetrySample& sample = *telemetry_.next_slot();
    __builtin_prefetch(&sample, 1, 3);
    for (const JointVector* v : {&sample.q, &sample.dq, &sample.tau_measured, &sample.q_ref, &sample.dq_ref,
                                 &sample.tau_command})
      prefetch_joints(*v);
  }
  const StateSnapshot& snapshot = state_buffer_.back();
  __builtin_prefetch(&snapshot, 1, 3);
  for (const JointVector* v : {&snapshot.q, &snapshot.dq, &snapshot.tau_measured, &snapshot.temperature_c,
                               &snapshot.q_ref, &snapshot.dq_ref, &snapshot.tau_command})
    prefetch_joints(*v);
}

// Last: readers see what was measured and commanded in this cycle, after the drives got it.
// In place and only the n_ joints in use: the snapshot and the telemetry sample are sized for
// kMaxJoints (64), so whole-struct copies would move twice the data of a 31-joint robot, twice
// (into a local, then into the buffer). Entries past n_ are never written and stay zero.
void ControlLoop::publish(double t, std::uint32_t compute_ns_of_previous_cycle) {
  const std::size_t joint_bytes = static_cast<std::size_t>(n_) * sizeof(double);
  auto copy_joints = [joint_bytes](JointVector& to, const JointVector& from) {
    std::memcpy(to.data(), from.data(), joint_bytes);
  };
  const SupervisorState published_state = supervisor_.state();
  const SafetyEvent& last_event = supervisor_.last_event();
  // Floating base: did the contact QP run this cycle (its status count moved since the last publish)?
  const StandingStatus* standing_status = nullptr;
  if (contact_wbc_) {
    const std::uint64_t solves = contact_wbc_->status_count();
    if (solves != standing_solves_seen_) standing_status = &contact_wbc_->last_status();
    standing_solves_seen_ = solves;
  }
  StateSnapshot& snapshot = state_buffer_.back();
  snapshot.cycle = cycle_;
  snapshot.t = t;
  snapshot.state = published_state;
  snapshot.last_event = last_event;
  snapshot.setpoint_sequence_applied = setpoint_applied_;
  snapshot.setpoint_applied_t = setpoint_applied_t_;
  snapshot.enable_ramp = enable_ramp_;
  copy_joints(snapshot.q, joint_state_.q);
  copy_joints(snapshot.dq, joint_state_.dq);
  copy_joints(snapshot.tau_measured, joint_state_.tau);
  copy_joints(snapshot.temperature_c, joint_state_.temperature_c);
  std::memcpy(snapshot.drive_error.data(), joint_state_.drive_error.data(), n_ * sizeof(std::uint16_t));
  std::memcpy(snapshot.fresh.data(), joint_state_.fresh.data(), n_ * sizeof(std::uint8_t));
  copy_joints(snapshot.q_ref, q_ref_);
  copy_joints(snapshot.dq_ref, dq_ref_);
  copy_joints(snapshot.tau_command, tau_previous_);
  snapshot.tasks = task_status_;
  if (estimator_) {  // floating base (fixed before configure(): the other slots never see these fields)
    snapshot.base = base_state_;
    snapshot.imu = base_sensors_.imu;
    snapshot.feet = base_sensors_.feet;
  }
  state_buffer_.publish();

  if (cycle_ % static_cast<std::uint64_t>(options_.telemetry_decimation) == 0) {
    if (TelemetrySample* sample = telemetry_.claim()) {  // full: dropped and counted, never waited for
      sample->cycle = cycle_;
      sample->t = t;
      sample->state = published_state;
      sample->reason = last_event.reason;
      sample->compute_ns = compute_ns_of_previous_cycle;
      copy_joints(sample->q, joint_state_.q);
      copy_joints(sample->dq, joint_state_.dq);
      copy_joints(sample->tau_measured, joint_state_.tau);
      copy_joints(sample->q_ref, q_ref_);
      copy_joints(sample->dq_ref, dq_ref_);
      copy_joints(sample->tau_command, tau_previous_);
      sample->setpoint_sequence = setpoint_in_use_.sequence;
      sample->setpoint_source = setpoint_in_use_.source;
      sample->setpoint_t_written = setpoint_in_use_.t_written;
      sample->setpoint_applied_t = setpoint_applied_t_;
      sample->setpoint_t_target = setpoint_in_use_.t_target;
      if (estimator_) {  // floating base: the estimator's state, the IMU sample it used, the balance figures
        sample->base = base_state_;
        sample->imu = base_sensors_.imu;
        constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
        BalanceSample& balance = sample->balance;
        const StandingStatus* qp = standing_status;
        balance.qp_ran = qp != nullptr;
        balance.qp_ok = qp != nullptr && qp->qp_ok;
        for (int k = 0; k < 3; ++k) {
          balance.com[k] = qp ? qp->com[k] : kNaN;
          balance.com_reference[k] = qp ? qp->com_reference[k] : kNaN;
        }
        balance.com_margin = qp ? qp->com_margin : kNaN;
        for (int i = 0; i < kMaxContacts; ++i) {
          balance.cop_margin[i] = qp ? qp->cop_margin[i] : kNaN;
          balance.normal_force[i] = qp ? qp->normal_force[i] : kNaN;
        }
        const FallDetector* detector = standing_ && standing_->fall_checked() ? standing_->detector().get() : nullptr;
        balance.fall_checked = detector != nullptr;
        balance.tilt = detector ? detector->last_tilt() : kNaN;
        balance.com_distance = detector ? detector->last_com_distance() : kNaN;
      }
      telemetry_.commit();
    }
  }
}

void ControlLoop::read_base_sensors(double t) {
  if (imu_from_device_) {
    imu_mailbox_.take_if_new(base_sensors_.imu);  // no news: the last sample stays (and ages)
  } else {
    for (auto& slot : buses_)
      if (slot.bus->read_base_sensors(t, base_sensors_)) break;
  }
  const std::uint64_t sequence = base_sensors_.imu.sequence;
  imu_missed_cycles_ = sequence > imu_sequence_seen_ ? 0 : imu_missed_cycles_ + 1;
  imu_sequence_seen_ = sequence;
  supervisor_.set_sensor_cause(imu_missed_cycles_ > imu_stale_cycles_
                                   ? Cause{Reason::kImuStale, -1, double(imu_missed_cycles_), double(imu_stale_cycles_)}
                                   : Cause{});
}

void ControlLoop::estimate_base() {
  // Measurements the supervisor faults on never enter the filter (it would keep the NaN forever).
  for (int j = 0; j < n_; ++j)
    if (!std::isfinite(joint_state_.q[j]) || !std::isfinite(joint_state_.dq[j])) return;
  if (imu_sequence_seen_ == 0) return;  // no IMU sample yet
  const ImuSample& imu = base_sensors_.imu;
  for (int k = 0; k < 3; ++k)
    if (!std::isfinite(imu.gyro[k]) || !std::isfinite(imu.accel[k]) || !std::isfinite(imu.orientation[k + 1])) return;
  if (!std::isfinite(imu.orientation[0])) return;
  estimator_->update(joint_state_.q, joint_state_.dq, base_sensors_, base_state_);
}

}  // namespace humanoid_rt
