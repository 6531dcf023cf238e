// The safety supervisor: one state machine that decides whether torque may
// flow, and the per-cycle limits every command passes through.
//
//   DISABLED --enable--> ENABLING --ramp done--> ACTIVE <--stale / fresh setpoint--> HOLD
//   ACTIVE/HOLD/ENABLING/RECOVERY --disable, overspeed, hold timeout, hold window--> DAMPING --damping_time--> DISABLED
//   any --fault--> FAULT (latched)       any --estop--> ESTOP (latched)
//   FAULT/ESTOP --reset, cause gone, controlled stop over--> DISABLED
//   FAULT/ESTOP --recover, only joints outside their hard limits--> RECOVERY --all back inside--> DAMPING
//
// In the drive-safety vocabulary of IEC 61800-5-2:
//   STO        DISABLED, FAULT of stop category 0, ESTOP category 0: zero torque, drive torque disabled
//   SS1        DAMPING (tau = -kd dq) for damping_time, then DISABLED; ESTOP category 1 and FAULT of
//              stop category 1 (stop_category_for) likewise, then STO (damping only when torque was
//              on; a further fault cause of stop category 0 during the damping cuts torque at once)
//   SS2 + SOS  HOLD: the reference decelerates to rest (within the acceleration limit) and is held;
//              the joint leaving the window around the reference -> DAMPING
//   SLS        measured |dq| > overspeed_factor * velocity limit -> DAMPING; the
//              reference itself never moves faster than the velocity limit
//   SLA        the reference's acceleration is at most the joint's acceleration limit
//   SLT        |tau| <= torque limit; |dtau/dt| <= torque-rate limit, every cycle
//   SLP / SDI  the reference stays inside the soft range and brakes (at the acceleration limit)
//              so that it stops at the soft wall instead of hitting it; past a soft limit, torque
//              pushing further out is refused and a wall torque (reaching the torque limit at the
//              hard limit) pushes back; past a hard limit -> FAULT
//   SLI        the reference steps at most velocity_limit * dt per cycle
// NaN or Inf in any measurement or command is a FAULT, never a pass-through.
// A reset is refused while its cause persists; enable is refused likewise.
//
// What happens in each case (issue 18; README "Supervisor behaviour" summarises):
// - A target at (or beyond) the soft limit: the reference brakes into the soft wall from the
//   braking distance v^2 / 2a of its own velocity v and the acceleration limit a, so a joint that
//   tracks it stays inside its hard limit (the bundled humanoid: at most 55 % of the soft margin
//   past the wall at full speed). Enabling with a joint between its soft and hard limits starts
//   the reference at the measurement and walks it back in under the same limits: nothing jumps.
// - A joint outside its hard limit: FAULT (hard_position_limit, SS1). reset() and enable() are
//   refused while it is outside; recover() (in FAULT or ESTOP) is accepted when that is the only
//   cause left: RECOVERY
//   walks every outside joint's reference back to a quarter of the soft margin inside its soft
//   wall at recovery_velocity_fraction of
//   its velocity limit, torque capped at recovery_torque_fraction of the torque limit for all
//   joints, the others held where they are (the soft-wall torque is off in RECOVERY: it would
//   throw the joint in faster than the walk); when every joint is inside its soft range:
//   DAMPING (recovery_complete), then DISABLED. A joint pushed further
//   out than hold_window_rad from where recovery began, or recovery not done by
//   recovery_timeout_s: FAULT (recovery_failed). Setpoints are not taken in RECOVERY.
// - Encoder jump: a reading that moved more than encoder_jump_rad + overspeed_factor * velocity
//   * (elapsed - period) since the joint's last reading, elapsed measured (the clock in real
//   time, so a stalled machine or missed replies widen the allowance by what the joint could
//   physically travel). FAULT, category 0.
// - Frozen encoder: a bit-identical reading while (a) the drive's own velocity (|dq| >= 0.05
//   rad/s) integrates past frozen_travel_rad -- found within ceil(frozen_travel_rad / (|dq| dt))
//   cycles, 7 cycles at 1.5 rad/s and 1 kHz with the default 0.01 rad -- or (b) the drive
//   pushes above frozen_torque_nm while motion is expected for frozen_encoder_cycles (drives
//   reporting no velocity). FAULT, category 0; reset() and enable() stay refused
//   (encoder_frozen) until the joint's reading differs from the frozen value.
// - An e-stop wins over every request of its cycle: a reset, enable or recover handled in the
//   same cycle is refused (estop_requested), whatever order they were made in; ESTOP stays latched.
// - A fault arriving in ESTOP keeps ESTOP (the stronger latch): it is recorded once as an event
//   ESTOP -> ESTOP with its reason, cuts category-1 damping, and blocks reset while it persists.
// - enable() in ENABLING, ACTIVE or HOLD is answered accepted, already enabled (from == to); in
//   DAMPING, FAULT, ESTOP, RECOVERY it is refused (request_not_allowed_in_state).
// - Faults stop by category (stop_category_for, the one mapping): category 0 (STO) when the
//   drives or their measurements cannot be trusted, category 1 (SS1) when they can. A reset
//   accepted while an SS1 stop still damps ends it (DISABLED: STO). fault_stop_category 0 makes
//   every fault STO.
// - Setpoint validation happens at the API (bindings, robot.py): targets outside a sane range
//   of the limits, ttl in (0, period) and gains above kp_max / kd_max are refused with an error
//   naming the field; the interpolator clamps what enters it so it cannot overflow.
//
// - Floating base (issue 13, set_stop_policy): a category-0 stop drops a standing humanoid, so each
//   stop takes its category from the robot's policy by its reason (standing_safety.hpp has the
//   defaults and the crouch): kCrouch runs SS1 into a safe pose -- the reference follows a
//   trajectory to the crouch posture (ESTOP, FAULT or DAMPING stay the state, torque on, tracking
//   with the active gains, Cartesian tasks off), holds it (event crouch_complete) until the base is
//   below the support height or support is confirmed (event support_reached), then damps for
//   damping_time, then STO; kControlled damps; kTorqueOff cuts torque. A fall (fall_detector.hpp)
//   is a FAULT of kProtectiveFall: damped joints, arms tucked, torque on for fall_protect_time_s,
//   then STO; a fall during another stop switches that stop to the protective behaviour (recorded
//   as an event with the fall's reason). A category-0 cause cuts torque during any of them; a
//   reset accepted during a crouch ends it (STO), as it ends SS1.
//
// Threading: every method runs on the loop thread (RT thread, or the thread
// calling step()). Events leave through an SPSC ring read by Python.
#pragma once

#include <array>
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
  kRecovery = 7,  // bringing joints outside their hard limits back inside (recover())
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
  kRecoveryRequested = 12,
  kRecoveryComplete = 13,
  kCrouchComplete = 14,  // floating base: the crouch stop reached its posture (standing_safety.hpp)
  kSupportReached = 15,  // floating base: the crouched robot is down or supported: damping, then STO
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
  kRecoveryFailed = 31,
  kImuStale = 32,  // floating base: no new IMU sample for more than the configured cycles
  kFallTilt = 33,               // floating base: base tilt beyond the limit (fall_detector.hpp)
  kFallComOutsideSupport = 34,  // floating base: CoM outside the support polygon, margin, k cycles
  kFallContactLost = 35,        // floating base: every contact lost while contact was expected
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
  double acceleration = 1000.0;                // SLA: the reference's acceleration [rad/s^2]
  double kp_max = 1e9;                         // highest stiffness set_gains may write [Nm/rad]
  double kd_max = 1e9;                         // highest damping set_gains may write [Nm s/rad]
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
  double frozen_travel_rad = 0.01;  // travel the drive's velocity reports while the reading stands still
  double overspeed_factor = 1.2;
  int estop_category = 0;
  double temperature_limit_c = 90.0;
  int fault_stop_category = 1;              // 1: faults that leave the drives usable stop with SS1; 0: all STO
  double recovery_velocity_fraction = 0.1;  // RECOVERY: reference speed, fraction of the velocity limit
  double recovery_torque_fraction = 0.3;    // RECOVERY: torque cap, fraction of the torque limit
  double recovery_timeout_s = 5.0;          // RECOVERY not complete by then -> FAULT (recovery_failed)
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

enum class RequestKind : std::uint8_t { kEnable = 1, kDisable = 2, kReset = 3, kEstop = 4, kRecover = 5 };

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

// IEC 60204-1 stop categories, as the supervisor applies them to faults.
enum class StopCategory : std::uint8_t {
  kTorqueOff = 0,   // category 0 (STO at once): the drives or their measurements cannot be trusted
  kControlled = 1,  // category 1 (SS1): damp with damping_kd for damping_time, then STO
  // Floating base only (set_stop_policy): a standing robot must not be dropped.
  kCrouch = 2,          // SS1 into a safe pose: trajectory to the crouch posture, hold it (SOS) until the
                        // robot is down or supported, then damping for damping_time, then STO
  kProtectiveFall = 3,  // falling: damped joints, arms tucked, torque on for the protect time, then STO
};

// Per-reason stop of a floating-base robot (index: the Reason's code), configured per robot
// (floating_base.stops.causes). Without one (fixed base) stop_category_for() and estop_category rule.
inline constexpr int kStopPolicySlots = 64;
using StopPolicy = std::array<StopCategory, kStopPolicySlots>;

// The one place that maps a fault's reason to its stop (with SafetyParams::fault_stop_category 1):
//   category 0: bus_timeout, bus_error, missed_replies, drive_fault, non_finite_measurement,
//               encoder_jump, encoder_frozen (no trustworthy measurement or drive to brake with)
//   category 1: over_temperature, hard_position_limit, non_finite_command, recovery_failed, imu_stale
//               (drives and measurements are fine: braking them is shorter than coasting)
//   protective fall: fall_tilt, fall_com_outside_support, fall_contact_lost (floating base; whatever
//               the policy says, a falling robot is never dropped nor crouched)
// A floating robot's stop policy (set_stop_policy) chooses per cause on top of this.
StopCategory stop_category_for(Reason fault);

class SafetySupervisor {
 public:
  SafetySupervisor(int n_joints, const JointLimits* limits, const SafetyParams& params, double period_s,
                   std::size_t event_capacity);

  // --- per cycle, in this order ---
  void begin_cycle(std::uint64_t cycle, double t) { cycle_ = cycle; t_ = t; }
  // Bus status and measurements: faults, missed replies, frozen/jumping encoders, overspeed.
  // tau_previous and dq_reference are last cycle's command and reference velocity; t_measured is
  // when the buses were read (the clock in real time, t when stepped): the encoder-jump check
  // allows the motion the elapsed time explains.
  void check_measurements(BusStatus status, const JointState& state, const JointVector& tau_previous,
                          const JointVector& dq_reference, double t_measured);
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
  // Time-driven transitions: enable ramp, watchdog, hold timeout and window, damping, recovery.
  // In HOLD, |q - hold_reference| > hold_window_rad for any joint -> DAMPING.
  void update_timers(const JointState& state, const JointVector& hold_reference);
  // Shapes joint j's torque (SLP/SDI walls, SLT clamp and rate). torque_on() must be true.
  double shape_torque(int j, double tau, double q, double tau_previous) const;
  void fault_non_finite_command(int joint, double value);
  // A persistent cause found outside the joints (a stale IMU), set every cycle before
  // check_measurements(): it faults like a bus timeout and refuses enable/reset while it lasts.
  void set_sensor_cause(const Cause& cause) { sensor_cause_ = cause; }

  // --- floating base (issue 13), configuration time (loop not running) ---
  // Every stop (ESTOP, FAULT, DAMPING) then takes its category from `policy` by its reason;
  // kProtectiveFall lasts fall_protect_time_s. DAMPING is never STO (torque_off there means damp).
  void set_stop_policy(const StopPolicy& policy, double fall_protect_time_s);
  bool has_stop_policy() const { return stop_policy_set_; }
  // --- floating base, loop thread ---
  // A fall (reason kFall*): FAULT, or from a stop in progress the protective behaviour; recorded.
  void fall(const Cause& cause);
  void crouch_reached();                      // kCrouchComplete: hold the posture
  void crouch_supported(const Cause& cause);  // kSupportReached: damping, then STO
  bool crouching() const { return stop_phase_ == StopPhase::kCrouch || stop_phase_ == StopPhase::kCrouchHold; }
  bool crouch_holding() const { return stop_phase_ == StopPhase::kCrouchHold; }
  bool crouch_started_this_cycle() const { return stop_phase_ == StopPhase::kCrouch && phase_cycle_ == cycle_; }
  bool fall_protecting() const { return stop_phase_ == StopPhase::kFallProtect && torque_on(); }

  // --- queries (loop thread) ---
  SupervisorState state() const { return state_; }
  double time_in_state() const { return t_ - t_entered_; }
  bool torque_on() const;     // false: STO for every joint
  bool damping_only() const;  // true: tau = -damping_kd dq
  double enable_ramp() const;  // 0..1 gain scale during ENABLING, 1 otherwise
  bool accepts_setpoints() const { return state_ == SupervisorState::kActive || state_ == SupervisorState::kHold; }
  // The reference's speed limit now: the joint's velocity limit, a fraction of it in RECOVERY.
  double reference_velocity(int j) const {
    return state_ == SupervisorState::kRecovery ? params_.recovery_velocity_fraction * limits_[j].velocity
                                                : limits_[j].velocity;
  }
  const SafetyEvent& last_event() const { return last_event_; }
  std::uint64_t limits_hash() const { return limits_hash_; }
  const SafetyParams& params() const { return params_; }
  const JointLimits& limits(int j) const { return limits_[j]; }

  // --- other threads ---
  SpscRing<SafetyEvent>& events() { return events_; }
  std::uint64_t event_overflows() const { return events_.overflows(); }

 private:
  // The first cause that persists in this measurement (bus, NaN, missed replies, drive error,
  // temperature, a frozen encoder not yet seen moving, hard limits), skipping `ignore` (same
  // reason and joint), with skip_hard_limits joints outside their hard limits, and with
  // torque_off_only every cause of stop category 1 (only what makes braking untrustworthy).
  Cause find_persistent_cause(BusStatus status, const JointState& state, const Cause* ignore = nullptr,
                              bool skip_hard_limits = false, bool torque_off_only = false) const;
  // FAULT with its stop category (SS1 only when torque was on and the category allows it).
  void fault(const Cause& cause);
  // The checks of the tracking states: encoder jump (scaled with the elapsed time), frozen encoder.
  Cause find_encoder_cause(const JointState& state, const JointVector& tau_previous, const JointVector& dq_reference,
                           double t_measured);
  bool outside_hard_limits(int j, double q) const { return q > limits_[j].q_max || q < limits_[j].q_min; }
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
  bool estop_fault_reported_ = false;  // a fault seen in ESTOP is recorded once per ESTOP
  bool fault_damping_ = false;  // FAULT of stop category 1 entered with torque on: damp, then STO
  Cause fault_cause_{};         // the cause of the latest FAULT (its own persistence does not end SS1)
  std::uint64_t estop_cycle_ = ~0ULL;  // cycle of the latest e-stop request: it wins over that cycle's others
  std::array<int, kMaxJoints> missed_replies_{};
  std::array<int, kMaxJoints> frozen_cycles_{};
  JointVector frozen_travel_{};      // drive-reported travel while the reading stood still [rad]
  JointFlags encoder_suspect_{};     // 1 after encoder_frozen until the reading moves off frozen_q_
  JointVector frozen_q_{};
  JointVector q_last_{};
  JointVector t_last_{};             // when q_last_ was read [s]
  JointVector recovery_start_q_{};   // measured q when RECOVERY began
  bool have_last_q_ = false;
  SafetyEvent last_event_{};
  Cause sensor_cause_{};  // see set_sensor_cause()

  // Floating base stops (issue 13).
  enum class StopPhase : std::uint8_t { kNone, kDamp, kCrouch, kCrouchHold, kFallProtect };
  void begin_stop(SupervisorState to, Reason reason, bool torque_was_on);  // from transition()
  bool stop_torque_on() const;
  StopPolicy stop_policy_{};          // configuration time, then read-only
  bool stop_policy_set_ = false;      // configuration time, then read-only
  double fall_protect_time_s_ = 3.0;  // configuration time, then read-only
  StopPhase stop_phase_ = StopPhase::kNone;  // loop thread only
  double phase_t0_ = 0.0;                    // loop thread only: when the phase began
  std::uint64_t phase_cycle_ = ~0ULL;        // loop thread only: the cycle it began

  SpscRing<SafetyEvent> events_;  // producer: loop thread; consumer: Python
};

}  // namespace humanoid_rt
