// The safety supervisor: one state machine that decides whether torque may
// flow, and the per-cycle limits every command passes through.
//
//   DISABLED --enable--> ENABLING --ramp done--> ACTIVE <--stale / fresh setpoint--> HOLD
//   ACTIVE/HOLD/ENABLING --disable, overspeed, hold timeout, hold window--> DAMPING --damping_time--> DISABLED
//   any --fault--> FAULT (latched)       any --estop--> ESTOP (latched)
//   FAULT/ESTOP --reset, cause gone--> DISABLED
//
// In the drive-safety vocabulary of IEC 61800-5-2:
//   STO        DISABLED, FAULT, ESTOP (category 0): zero torque, drive torque disabled
//   SS1        DAMPING (tau = -kd dq) for damping_time, then DISABLED; ESTOP category 1
//              (damping only when torque was on at the e-stop; from DISABLED or FAULT
//              it is STO at once, and any fault during the damping cuts torque)
//   SS2 + SOS  HOLD: the reference decelerates to rest and is held; the joint
//              leaving the window around the reference -> DAMPING
//   SLS        measured |dq| > overspeed_factor * velocity limit -> DAMPING; the
//              reference itself never moves faster than the velocity limit
//   SLT        |tau| <= torque limit; |dtau/dt| <= torque-rate limit, every cycle
//   SLP / SDI  past a soft limit, torque pushing further out is refused and a
//              wall torque (reaching the torque limit at the hard limit) pushes
//              back; past a hard limit -> FAULT
//   SLI        the reference steps at most velocity_limit * dt per cycle
// NaN or Inf in any measurement or command is a FAULT, never a pass-through.
// A reset is refused while its cause persists; enable is refused likewise.
//
// Threading: every method runs on the loop thread (RT thread, or the thread
// calling step()). Events leave through an SPSC ring read by Python.
#pragma once

#include <cstdint>

#include "humanoid_rt/bus.hpp"
#include "humanoid_rt/spsc_ring.hpp"
#include "humanoid_rt/types.hpp"

namespace humanoid_rt {

enum class SupervisorState : std::uint8_t {
  kDisabled = 0,
  kEnabling = 1,
  kActive = 2,
  kHold = 3,
  kDamping = 4,
  kFault = 5,
  kEstop = 6,
};

// Why a transition (or a refusal) happened. Stable numbers: they are logged.
enum class Reason : std::uint16_t {
  kNone = 0,
  kEnableRequested = 1,
  kEnableRampComplete = 2,
  kDisableRequested = 3,
  kEstopRequested = 4,
  kResetRequested = 5,
  kWatchdogExpired = 6,
  kSetpointResumed = 7,
  kHoldTimeout = 8,
  kHoldWindowLeft = 9,
  kDampingComplete = 10,
  kShutdown = 11,
  kNonFiniteMeasurement = 20,
  kNonFiniteCommand = 21,
  kEncoderJump = 22,
  kEncoderFrozen = 23,
  kMissedReplies = 24,
  kBusTimeout = 25,
  kBusError = 26,
  kDriveFault = 27,
  kOverTemperature = 28,
  kHardPositionLimit = 29,
  kOverspeed = 30,
  kImuStale = 31,  // floating base: no new IMU sample for more than the configured cycles
  kRequestNotAllowedInState = 40,
};

const char* to_string(SupervisorState s);
const char* to_string(Reason r);

struct JointLimits {
  double q_min = -1.0, q_max = 1.0;            // hard limits [rad]
  double q_soft_min = -0.95, q_soft_max = 0.95;  // soft wall [rad]
  double velocity = 10.0;                      // [rad/s]
  double torque = 50.0;                        // [Nm]
  double torque_rate = 20000.0;                // [Nm/s]
  double damping_kd = 1.0;                     // DAMPING gain [Nm s/rad]
};

struct SafetyParams {
  double hold_timeout_s = 0.5;
  double hold_window_rad = 0.15;
  double damping_time_s = 1.0;
  double enable_ramp_s = 0.5;
  int max_missed_replies = 3;
  double encoder_jump_rad = 0.2;
  int frozen_encoder_cycles = 200;
  double frozen_torque_nm = 5.0;
  double overspeed_factor = 1.2;
  int estop_category = 0;
  double temperature_limit_c = 90.0;
};

// One transition, or the answer to a request that caused none (from == to;
// accepted == 0 for a refusal, 1 when the request was already satisfied).
struct SafetyEvent {
  std::uint64_t cycle = 0;
  double t = 0.0;
  std::uint32_t request_id = 0;  // the request that caused it; 0 = the supervisor itself
  SupervisorState from = SupervisorState::kDisabled;
  SupervisorState to = SupervisorState::kDisabled;
  Reason reason = Reason::kNone;
  std::int16_t joint = -1;  // -1 = not about one joint
  std::uint8_t accepted = 1;
  double value = 0.0;  // the measured quantity that triggered it
  double limit = 0.0;  // the limit it was compared with
};

enum class RequestKind : std::uint8_t { kEnable = 1, kDisable = 2, kReset = 3, kEstop = 4 };

struct Request {
  std::uint32_t id = 0;
  RequestKind kind = RequestKind::kEnable;
};

// A reason with the joint and numbers that explain it.
struct Cause {
  Reason reason = Reason::kNone;
  int joint = -1;
  double value = 0.0;
  double limit = 0.0;
  explicit operator bool() const { return reason != Reason::kNone; }
};

class SafetySupervisor {
 public:
  SafetySupervisor(int n_joints, const JointLimits* limits, const SafetyParams& params, double period_s,
                   std::size_t event_capacity);

  // --- per cycle, in this order ---
  void begin_cycle(std::uint64_t cycle, double t) { cycle_ = cycle; t_ = t; }
  // Bus status and measurements: faults, missed replies, frozen/jumping encoders, overspeed.
  // tau_previous and dq_reference are last cycle's command and reference velocity.
  void check_measurements(BusStatus status, const JointState& state, const JointVector& tau_previous,
                          const JointVector& dq_reference);
  void handle_request(const Request& request, BusStatus status, const JointState& state);
  void request_shutdown();
  void clear_shutdown() { shutdown_ = false; }  // before the loop starts again
  // Whether a setpoint written at t_written with this ttl is still alive now (ttl 0: forever).
  bool setpoint_alive(double t_written, double ttl) const;
  // A live setpoint was applied; keeps the watchdog alive until t_written + ttl (ttl 0: forever).
  void on_setpoint_applied(double t_written, double ttl);
  // True when the last transition happened in this cycle and led to `state` (entry actions).
  bool entered_this_cycle(SupervisorState state) const {
    return state_ == state && last_event_.cycle == cycle_ && last_event_.to == state && last_event_.accepted;
  }
  // Time-driven transitions: enable ramp, watchdog, hold timeout and window, damping.
  // In HOLD, |q - hold_reference| > hold_window_rad for any joint -> DAMPING.
  void update_timers(const JointState& state, const JointVector& hold_reference);
  // Shapes joint j's torque (SLP/SDI walls, SLT clamp and rate). torque_on() must be true.
  double shape_torque(int j, double tau, double q, double tau_previous) const;
  void fault_non_finite_command(int joint, double value);
  // A persistent cause found outside the joints (a stale IMU), set every cycle before
  // check_measurements(): it faults like a bus timeout and refuses enable/reset while it lasts.
  void set_sensor_cause(const Cause& cause) { sensor_cause_ = cause; }

  // --- queries (loop thread) ---
  SupervisorState state() const { return state_; }
  double time_in_state() const { return t_ - t_entered_; }
  bool torque_on() const;     // false: STO for every joint
  bool damping_only() const;  // true: tau = -damping_kd dq
  double enable_ramp() const;  // 0..1 gain scale during ENABLING, 1 otherwise
  bool accepts_setpoints() const { return state_ == SupervisorState::kActive || state_ == SupervisorState::kHold; }
  const SafetyEvent& last_event() const { return last_event_; }
  std::uint64_t limits_hash() const { return limits_hash_; }
  const SafetyParams& params() const { return params_; }
  const JointLimits& limits(int j) const { return limits_[j]; }

  // --- other threads ---
  SpscRing<SafetyEvent>& events() { return events_; }
  std::uint64_t event_overflows() const { return events_.overflows(); }

 private:
  Cause find_persistent_cause(BusStatus status, const JointState& state) const;
  void transition(SupervisorState to, const Cause& cause, std::uint32_t request_id = 0);
  // Answers a request that caused no transition: refused (with the cause) or already satisfied.
  void acknowledge(const Cause& cause, std::uint32_t request_id, bool accepted);

  const int n_;
  const JointLimits* const limits_;  // owned by the loop, immutable after construction
  const SafetyParams params_;
  const double period_s_;
  std::uint64_t limits_hash_ = 0;

  // Loop thread only.
  SupervisorState state_ = SupervisorState::kDisabled;
  std::uint64_t cycle_ = 0;
  double t_ = 0.0;
  double t_entered_ = 0.0;
  double setpoint_alive_until_ = 0.0;
  bool watchdog_armed_ = false;
  bool shutdown_ = false;
  bool estop_damping_ = false;  // ESTOP category 1 entered with torque on: damp for damping_time, then STO
  std::array<int, kMaxJoints> missed_replies_{};
  std::array<int, kMaxJoints> frozen_cycles_{};
  JointVector q_last_{};
  bool have_last_q_ = false;
  SafetyEvent last_event_{};
  Cause sensor_cause_{};  // see set_sensor_cause()

  SpscRing<SafetyEvent> events_;  // producer: loop thread; consumer: Python
};

}  // namespace humanoid_rt
