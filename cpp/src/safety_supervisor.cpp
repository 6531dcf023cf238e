#include "humanoid_rt/safety_supervisor.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace humanoid_rt {

namespace {
// Tolerance for comparing loop times built from integer cycle counts, so
// deadlines land on the cycle the arithmetic says they do.
constexpr double kTimeEpsilon = 1e-9;
// Below this speed a constant encoder reading is plausible (quantisation at standstill).
constexpr double kMotionExpectedRadS = 1e-3;
// A drive reporting at least this speed while its position reading stands still contradicts itself
// (below it, a velocity estimate's offset or noise could add up over a long standstill).
constexpr double kVelocityEvidenceRadS = 0.05;

std::uint64_t fnv1a(std::uint64_t hash, const void* data, std::size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 1099511628211ULL;
  }
  return hash;
}

template <typename T>
std::uint64_t hash_value(std::uint64_t h, const T& v) {
  return fnv1a(h, &v, sizeof(v));
}
}  // namespace

const char* to_string(SupervisorState s) {
  switch (s) {
    case SupervisorState::kDisabled: return "DISABLED";
    case SupervisorState::kEnabling: return "ENABLING";
    case SupervisorState::kActive: return "ACTIVE";
    case SupervisorState::kHold: return "HOLD";
    case SupervisorState::kDamping: return "DAMPING";
    case SupervisorState::kFault: return "FAULT";
    case SupervisorState::kEstop: return "ESTOP";
    case SupervisorState::kRecovery: return "RECOVERY";
  }
  return "UNKNOWN";
}

const char* to_string(Reason r) {
  switch (r) {
    case Reason::kNone: return "none";
    case Reason::kEnableRequested: return "enable_requested";
    case Reason::kEnableRampComplete: return "enable_ramp_complete";
    case Reason::kDisableRequested: return "disable_requested";
    case Reason::kEstopRequested: return "estop_requested";
    case Reason::kResetRequested: return "reset_requested";
    case Reason::kWatchdogExpired: return "watchdog_expired";
    case Reason::kSetpointResumed: return "setpoint_resumed";
    case Reason::kHoldTimeout: return "hold_timeout";
    case Reason::kHoldWindowLeft: return "hold_window_left";
    case Reason::kDampingComplete: return "damping_complete";
    case Reason::kShutdown: return "shutdown";
    case Reason::kRecoveryRequested: return "recovery_requested";
    case Reason::kRecoveryComplete: return "recovery_complete";
    case Reason::kCrouchComplete: return "crouch_complete";
    case Reason::kSupportReached: return "support_reached";
    case Reason::kFallTilt: return "fall_tilt";
    case Reason::kFallComOutsideSupport: return "fall_com_outside_support";
    case Reason::kFallContactLost: return "fall_contact_lost";
    case Reason::kRecoveryFailed: return "recovery_failed";
    case Reason::kNonFiniteMeasurement: return "non_finite_measurement";
    case Reason::kNonFiniteCommand: return "non_finite_command";
    case Reason::kEncoderJump: return "encoder_jump";
    case Reason::kEncoderFrozen: return "encoder_frozen";
    case Reason::kMissedReplies: return "missed_replies";
    case Reason::kBusTimeout: return "bus_timeout";
    case Reason::kBusError: return "bus_error";
    case Reason::kDriveFault: return "drive_fault";
    case Reason::kOverTemperature: return "over_temperature";
    case Reason::kHardPositionLimit: return "hard_position_limit";
    case Reason::kOverspeed: return "overspeed";
    case Reason::kImuStale: return "imu_stale";
    case Reason::kRequestNotAllowedInState: return "request_not_allowed_in_state";
  }
  return "unknown";
}

StopCategory stop_category_for(Reason fault) {
  switch (fault) {
    case Reason::kOverTemperature:
    case Reason::kHardPositionLimit:
    case Reason::kNonFiniteCommand:
    case Reason::kRecoveryFailed:
    case Reason::kImuStale:  // the drives are fine: a standing robot brakes rather than drops
      return StopCategory::kControlled;
    case Reason::kFallTilt:
    case Reason::kFallComOutsideSupport:
    case Reason::kFallContactLost:
      return StopCategory::kProtectiveFall;  // falling: never cut torque, never crouch
    default:
      return StopCategory::kTorqueOff;
  }
}

SafetySupervisor::SafetySupervisor(int n_joints, const JointLimits* limits, const SafetyParams& params,
                                   double period_s, std::size_t event_capacity)
    : n_(n_joints), limits_(limits), params_(params), period_s_(period_s), events_(event_capacity) {
  std::uint64_t h = 14695981039346656037ULL;
  h = hash_value(h, n_);
  for (int j = 0; j < n_; ++j) h = hash_value(h, limits_[j]);
  // Hash the parameters field by field: the struct has padding whose bytes are unspecified.
  h = hash_value(h, params_.hold_timeout_s);
  h = hash_value(h, params_.hold_window_rad);
  h = hash_value(h, params_.damping_time_s);
  h = hash_value(h, params_.enable_ramp_s);
  h = hash_value(h, params_.max_missed_replies);
  h = hash_value(h, params_.encoder_jump_rad);
  h = hash_value(h, params_.frozen_encoder_cycles);
  h = hash_value(h, params_.frozen_torque_nm);
  h = hash_value(h, params_.overspeed_factor);
  h = hash_value(h, params_.estop_category);
  h = hash_value(h, params_.temperature_limit_c);
  h = hash_value(h, params_.frozen_travel_rad);
  h = hash_value(h, params_.fault_stop_category);
  h = hash_value(h, params_.recovery_velocity_fraction);
  h = hash_value(h, params_.recovery_torque_fraction);
  h = hash_value(h, params_.recovery_timeout_s);
  limits_hash_ = h;
}

bool SafetySupervisor::torque_on() const {
  switch (state_) {
    case SupervisorState::kEnabling:
    case SupervisorState::kActive:
    case SupervisorState::kHold:
    case SupervisorState::kDamping:
    case SupervisorState::kRecovery:
      return true;
    case SupervisorState::kEstop:
      if (stop_policy_set_) return stop_torque_on();
      return estop_damping_ && time_in_state() < params_.damping_time_s - kTimeEpsilon;
    case SupervisorState::kFault:
      if (stop_policy_set_) return stop_torque_on();
      return fault_damping_ && time_in_state() < params_.damping_time_s - kTimeEpsilon;
    case SupervisorState::kDisabled:
      return false;
  }
  return false;
}

bool SafetySupervisor::damping_only() const {
  if (crouching()) return false;  // SS1 into a safe pose tracks its trajectory
  return state_ == SupervisorState::kDamping || state_ == SupervisorState::kEstop || state_ == SupervisorState::kFault;
}

double SafetySupervisor::enable_ramp() const {
  if (state_ != SupervisorState::kEnabling || params_.enable_ramp_s <= 0.0) return 1.0;
  return std::clamp(time_in_state() / params_.enable_ramp_s, 0.0, 1.0);
}

void SafetySupervisor::transition(SupervisorState to, const Cause& cause, std::uint32_t request_id) {
  const bool torque_was_on = torque_on();
  SafetyEvent e;
  e.cycle = cycle_;
  e.t = t_;
  e.request_id = request_id;
  e.from = state_;
  e.to = to;
  e.reason = cause.reason;
  e.joint = static_cast<std::int16_t>(cause.joint);
  e.accepted = 1;
  e.value = cause.value;
  e.limit = cause.limit;
  last_event_ = e;
  events_.push(e);
  if (to == SupervisorState::kEstop) {
    estop_damping_ = params_.estop_category == 1 && torque_on();
    estop_fault_reported_ = false;
  }
  if (to == SupervisorState::kFault) {
    fault_damping_ = params_.fault_stop_category == 1 && stop_category_for(cause.reason) == StopCategory::kControlled &&
                     torque_on();
    fault_cause_ = cause;
  }
  state_ = to;
  t_entered_ = t_;
  if (stop_policy_set_) begin_stop(to, cause.reason, torque_was_on);
  if (to != SupervisorState::kActive && to != SupervisorState::kHold) watchdog_armed_ = false;
  if (to == SupervisorState::kFault || to == SupervisorState::kDisabled || to == SupervisorState::kEstop) {
    frozen_cycles_.fill(0);
    frozen_travel_.fill(0.0);
  }
}

void SafetySupervisor::acknowledge(const Cause& cause, std::uint32_t request_id, bool accepted) {
  SafetyEvent e;
  e.cycle = cycle_;
  e.t = t_;
  e.request_id = request_id;
  e.from = state_;
  e.to = state_;
  e.reason = cause.reason;
  e.joint = static_cast<std::int16_t>(cause.joint);
  e.accepted = accepted ? 1 : 0;
  e.value = cause.value;
  e.limit = cause.limit;
  events_.push(e);  // reported to the requester, but not the state's reason
}

Cause SafetySupervisor::find_persistent_cause(BusStatus status, const JointState& s, const Cause* ignore,
                                              bool skip_hard_limits, bool torque_off_only) const {
  const auto found = [ignore](const Cause& c) {
    return !(ignore && ignore->reason == c.reason && ignore->joint == c.joint);
  };
  if (status == BusStatus::kTimeout && found({Reason::kBusTimeout})) return {Reason::kBusTimeout};
  if (status == BusStatus::kError && found({Reason::kBusError})) return {Reason::kBusError};
  // A stale IMU leaves the drives usable: a controlled stop (see stop_category_for), not a torque-off cause.
  if (!torque_off_only && sensor_cause_ && found(sensor_cause_)) return sensor_cause_;
  for (int j = 0; j < n_; ++j) {
    const JointLimits& l = limits_[j];
    Cause c;
    if (!std::isfinite(s.q[j]) || !std::isfinite(s.dq[j]) || !std::isfinite(s.tau[j]))
      c = {Reason::kNonFiniteMeasurement, j, s.q[j], 0.0};
    else if (missed_replies_[j] > params_.max_missed_replies)
      c = {Reason::kMissedReplies, j, double(missed_replies_[j]), double(params_.max_missed_replies)};
    else if (s.drive_error[j] != 0)
      c = {Reason::kDriveFault, j, double(s.drive_error[j]), 0.0};
    else if (!torque_off_only && s.temperature_c[j] > params_.temperature_limit_c)
      c = {Reason::kOverTemperature, j, s.temperature_c[j], params_.temperature_limit_c};
    else if (encoder_suspect_[j] && s.q[j] == frozen_q_[j])
      c = {Reason::kEncoderFrozen, j, s.q[j], frozen_q_[j]};  // still the frozen reading: not forgiven
    else if (!skip_hard_limits && s.q[j] > l.q_max)
      c = {Reason::kHardPositionLimit, j, s.q[j], l.q_max};
    else if (!skip_hard_limits && s.q[j] < l.q_min)
      c = {Reason::kHardPositionLimit, j, s.q[j], l.q_min};
    if (c && found(c)) return c;
  }
  return {};
}

void SafetySupervisor::fault(const Cause& cause) {
  if (cause.reason == Reason::kEncoderFrozen && cause.joint >= 0) {
    encoder_suspect_[cause.joint] = 1;
    frozen_q_[cause.joint] = q_last_[cause.joint];
  }
  transition(SupervisorState::kFault, cause);
}

Cause SafetySupervisor::find_encoder_cause(const JointState& s, const JointVector& tau_previous,
                                           const JointVector& dq_reference, double t_measured) {
  for (int j = 0; j < n_; ++j) {
    if (!s.fresh[j] || !have_last_q_) continue;
    const JointLimits& l = limits_[j];
    // Jump: a change no physically possible velocity explains over the time since the last reading.
    // At the nominal period the allowance is encoder_jump_rad; a late read (a stalled machine, missed
    // replies) adds what overspeed_factor x the velocity limit covers in the extra time.
    const double elapsed = std::max(t_measured - t_last_[j], period_s_);
    const double allowed = params_.encoder_jump_rad + params_.overspeed_factor * l.velocity * (elapsed - period_s_);
    const double step = std::abs(s.q[j] - q_last_[j]);
    if (step > allowed) return {Reason::kEncoderJump, j, step, allowed};
    // Frozen: a bit-identical reading that contradicts (a) the drive's own velocity, integrated over
    // the standstill of the reading, beyond frozen_travel_rad, or (b) the drive pushing hard while
    // motion is expected, for frozen_encoder_cycles. A joint holding still under load (gravity)
    // legitimately reads the same value with a zero velocity, so pushing alone is no evidence.
    if (s.q[j] != q_last_[j]) {
      frozen_cycles_[j] = 0;
      frozen_travel_[j] = 0.0;
      continue;
    }
    if (std::abs(s.dq[j]) >= kVelocityEvidenceRadS) frozen_travel_[j] += s.dq[j] * elapsed;
    if (std::abs(frozen_travel_[j]) > params_.frozen_travel_rad)
      return {Reason::kEncoderFrozen, j, std::abs(frozen_travel_[j]), params_.frozen_travel_rad};
    const bool pushing = torque_on() && std::abs(tau_previous[j]) > params_.frozen_torque_nm;
    const bool motion_expected =
        std::abs(dq_reference[j]) > kMotionExpectedRadS || std::abs(s.dq[j]) > kMotionExpectedRadS;
    frozen_cycles_[j] = (pushing && motion_expected) ? frozen_cycles_[j] + 1 : 0;
    if (frozen_cycles_[j] >= params_.frozen_encoder_cycles)
      return {Reason::kEncoderFrozen, j, double(frozen_cycles_[j]), double(params_.frozen_encoder_cycles)};
  }
  return {};
}

void SafetySupervisor::check_measurements(BusStatus status, const JointState& s, const JointVector& tau_previous,
                                          const JointVector& dq_reference, double t_measured) {
  // Missed replies are counted in every state so that enable sees them too.
  for (int j = 0; j < n_; ++j) missed_replies_[j] = s.fresh[j] ? 0 : missed_replies_[j] + 1;
  // A frozen encoder is forgiven only once its reading moves again.
  for (int j = 0; j < n_; ++j)
    if (encoder_suspect_[j] && s.fresh[j] && std::isfinite(s.q[j]) && s.q[j] != frozen_q_[j]) encoder_suspect_[j] = 0;

  if (state_ == SupervisorState::kEstop) {
    // ESTOP is never left for FAULT: a fault arriving now is recorded once (it blocks reset while it
    // persists), and category-1 damping stays supervised: any fault cause cuts torque at once.
    if (Cause cause = find_persistent_cause(status, s)) {
      const Cause untrusted = torque_on() ? find_persistent_cause(status, s, nullptr, true, true) : Cause{};
      if (!estop_fault_reported_ || untrusted) acknowledge(untrusted ? untrusted : cause, 0, true);
      estop_fault_reported_ = true;
      if (untrusted) {
        estop_damping_ = false;
        stop_phase_ = StopPhase::kNone;  // floating base: no crouch or fall protection on untrusted drives
      }
    }
  } else if (state_ == SupervisorState::kFault && torque_on()) {
    // SS1 after a fault stays supervised too: a further cause of stop category 0 (a drive or a
    // measurement that cannot be trusted) cuts torque; more category-1 causes (another joint past
    // its hard limit while braking) keep braking, which stops them sooner than coasting.
    if (Cause cause = find_persistent_cause(status, s, &fault_cause_, true, true)) {
      fault_damping_ = false;
      stop_phase_ = StopPhase::kNone;
      acknowledge(cause, 0, true);
    }
  }
  const bool latched = state_ == SupervisorState::kFault || state_ == SupervisorState::kEstop;
  if (!latched) {
    const bool recovering = state_ == SupervisorState::kRecovery;
    Cause cause = find_persistent_cause(status, s, nullptr, recovering);
    if (!cause) cause = find_encoder_cause(s, tau_previous, dq_reference, t_measured);
    for (int j = 0; j < n_ && recovering && !cause; ++j) {
      // Recovery moves only toward the range: a joint driven further out than where it started fails it.
      const double outward = s.q[j] > limits_[j].q_max ? s.q[j] - recovery_start_q_[j]
                             : s.q[j] < limits_[j].q_min ? recovery_start_q_[j] - s.q[j]
                                                          : 0.0;
      if (outward > params_.hold_window_rad) cause = {Reason::kRecoveryFailed, j, outward, params_.hold_window_rad};
    }
    if (cause) {
      fault(cause);
    } else if (state_ == SupervisorState::kEnabling || state_ == SupervisorState::kActive ||
               state_ == SupervisorState::kHold || recovering) {
      for (int j = 0; j < n_; ++j) {
        const double limit = params_.overspeed_factor * limits_[j].velocity;
        if (std::abs(s.dq[j]) > limit) {
          transition(SupervisorState::kDamping, {Reason::kOverspeed, j, s.dq[j], limit});
          break;
        }
      }
    }
  }
  for (int j = 0; j < n_; ++j) {
    if (s.fresh[j] && std::isfinite(s.q[j])) {
      q_last_[j] = s.q[j];
      t_last_[j] = t_measured;
    }
  }
  have_last_q_ = true;
}

void SafetySupervisor::handle_request(const Request& r, BusStatus status, const JointState& s) {
  const Cause not_allowed{Reason::kRequestNotAllowedInState, -1, double(static_cast<int>(state_)), 0.0};
  if (r.kind == RequestKind::kEstop) {
    estop_cycle_ = cycle_;
    if (state_ != SupervisorState::kEstop) return transition(SupervisorState::kEstop, {Reason::kEstopRequested}, r.id);
    return acknowledge({Reason::kEstopRequested}, r.id, true);
  }
  // An e-stop wins over every other request of its cycle, whatever order they were made in.
  if (estop_cycle_ == cycle_ && r.kind != RequestKind::kDisable)
    return acknowledge({Reason::kEstopRequested}, r.id, false);
  switch (r.kind) {
    case RequestKind::kEstop:
      return;  // handled above
    case RequestKind::kEnable: {
      if ((state_ == SupervisorState::kEnabling || state_ == SupervisorState::kActive ||
           state_ == SupervisorState::kHold) && !shutdown_)
        return acknowledge({Reason::kEnableRequested}, r.id, true);  // already enabled
      if (state_ != SupervisorState::kDisabled || shutdown_) return acknowledge(not_allowed, r.id, false);
      if (Cause cause = find_persistent_cause(status, s)) return acknowledge(cause, r.id, false);
      transition(SupervisorState::kEnabling, {Reason::kEnableRequested}, r.id);
      return;
    }
    case RequestKind::kDisable:
      if (state_ == SupervisorState::kEnabling || state_ == SupervisorState::kActive ||
          state_ == SupervisorState::kHold || state_ == SupervisorState::kRecovery)
        return transition(SupervisorState::kDamping, {Reason::kDisableRequested}, r.id);
      if (state_ == SupervisorState::kDisabled || state_ == SupervisorState::kDamping)
        return acknowledge({Reason::kDisableRequested}, r.id, true);  // already stopping or stopped
      return acknowledge(not_allowed, r.id, false);
    case RequestKind::kReset: {
      if (state_ != SupervisorState::kFault && state_ != SupervisorState::kEstop) return acknowledge(not_allowed, r.id, false);
      if (Cause cause = find_persistent_cause(status, s)) return acknowledge(cause, r.id, false);
      have_last_q_ = false;  // the position may have changed legitimately while latched
      transition(SupervisorState::kDisabled, {Reason::kResetRequested}, r.id);
      return;
    }
    case RequestKind::kRecover: {
      // Only from FAULT or ESTOP (an e-stop may have caught the joint out there), only when joints
      // outside their hard limits are the one cause left.
      if ((state_ != SupervisorState::kFault && state_ != SupervisorState::kEstop) || shutdown_)
        return acknowledge(not_allowed, r.id, false);
      if (Cause cause = find_persistent_cause(status, s, nullptr, true)) return acknowledge(cause, r.id, false);
      bool outside = false;
      for (int j = 0; j < n_; ++j) {
        outside = outside || outside_hard_limits(j, s.q[j]);
        recovery_start_q_[j] = s.q[j];
      }
      if (!outside) return acknowledge(not_allowed, r.id, false);  // nothing to recover: reset()
      have_last_q_ = false;
      transition(SupervisorState::kRecovery, {Reason::kRecoveryRequested}, r.id);
      return;
    }
  }
}

void SafetySupervisor::request_shutdown() {
  if (shutdown_) return;
  shutdown_ = true;
  if (crouching()) {  // the runtime is closing: the hold ends (damping, then STO); put it on a support first
    stop_phase_ = StopPhase::kDamp;
    phase_t0_ = t_;
    phase_cycle_ = cycle_;
    acknowledge({Reason::kShutdown}, 0, true);
  }
  if (state_ == SupervisorState::kEnabling || state_ == SupervisorState::kActive || state_ == SupervisorState::kHold ||
      state_ == SupervisorState::kRecovery)
    transition(SupervisorState::kDamping, {Reason::kShutdown});
}

bool SafetySupervisor::setpoint_alive(double t_written, double ttl) const {
  return ttl <= 0.0 || t_ <= t_written + ttl + kTimeEpsilon;
}

void SafetySupervisor::on_setpoint_applied(double t_written, double ttl) {
  watchdog_armed_ = ttl > 0.0;
  setpoint_alive_until_ = t_written + ttl;
  if (state_ == SupervisorState::kHold) transition(SupervisorState::kActive, {Reason::kSetpointResumed});
}

void SafetySupervisor::update_timers(const JointState& s, const JointVector& hold_reference) {
  switch (state_) {
    case SupervisorState::kEnabling:
      if (time_in_state() >= params_.enable_ramp_s - kTimeEpsilon)
        transition(SupervisorState::kActive, {Reason::kEnableRampComplete});
      break;
    case SupervisorState::kActive:
      if (watchdog_armed_ && t_ > setpoint_alive_until_ + kTimeEpsilon) {
        transition(SupervisorState::kHold, {Reason::kWatchdogExpired, -1, t_, setpoint_alive_until_});
      }
      break;
    case SupervisorState::kHold: {
      if (time_in_state() >= params_.hold_timeout_s - kTimeEpsilon) {
        transition(SupervisorState::kDamping, {Reason::kHoldTimeout, -1, time_in_state(), params_.hold_timeout_s});
        break;
      }
      for (int j = 0; j < n_; ++j) {
        const double deviation = std::abs(s.q[j] - hold_reference[j]);
        if (deviation > params_.hold_window_rad) {
          transition(SupervisorState::kDamping, {Reason::kHoldWindowLeft, j, deviation, params_.hold_window_rad});
          break;
        }
      }
      break;
    }
    case SupervisorState::kDamping:
      if (stop_policy_set_) {  // floating base: after a crouch, damping counts from support_reached
        if (stop_phase_ == StopPhase::kDamp && t_ - phase_t0_ >= params_.damping_time_s - kTimeEpsilon)
          transition(SupervisorState::kDisabled, {Reason::kDampingComplete});
        break;
      }
      if (time_in_state() >= params_.damping_time_s - kTimeEpsilon)
        transition(SupervisorState::kDisabled, {Reason::kDampingComplete});
      break;
    case SupervisorState::kRecovery: {
      // Complete when every joint is back inside its soft range (where no wall torque acts).
      int outside = -1;
      for (int j = 0; j < n_ && outside < 0; ++j) {
        const JointLimits& l = limits_[j];
        if (s.q[j] > l.q_soft_max || s.q[j] < l.q_soft_min) outside = j;
      }
      if (outside < 0) {
        transition(SupervisorState::kDamping, {Reason::kRecoveryComplete});
      } else if (time_in_state() >= params_.recovery_timeout_s - kTimeEpsilon) {
        fault({Reason::kRecoveryFailed, outside, time_in_state(), params_.recovery_timeout_s});
      }
      break;
    }
    default:
      break;
  }
}

double SafetySupervisor::shape_torque(int j, double tau, double q, double tau_previous) const {
  const JointLimits& l = limits_[j];
  // SLP / SDI: past a soft limit, outward torque is refused and the wall pushes back,
  // reaching the full torque limit at the hard limit.
  const double margin_max = std::max(l.q_max - l.q_soft_max, 1e-9);
  const double margin_min = std::max(l.q_soft_min - l.q_min, 1e-9);
  // In RECOVERY the slowly walking reference brings the joint back; a wall torque would throw it in.
  if (state_ != SupervisorState::kRecovery) {
    if (q > l.q_soft_max) tau = std::min(tau, -l.torque * std::min(1.0, (q - l.q_soft_max) / margin_max));
    if (q < l.q_soft_min) tau = std::max(tau, l.torque * std::min(1.0, (l.q_soft_min - q) / margin_min));
  }
  // SLT: magnitude, then rate relative to last cycle's command.
  const double cap = state_ == SupervisorState::kRecovery ? params_.recovery_torque_fraction * l.torque : l.torque;
  tau = std::clamp(tau, -cap, cap);
  const double step = l.torque_rate * period_s_;
  return std::clamp(tau, tau_previous - step, tau_previous + step);
}

void SafetySupervisor::fault_non_finite_command(int joint, double value) {
  if (state_ != SupervisorState::kFault) {
    fault({Reason::kNonFiniteCommand, joint, value, 0.0});
  } else {
    fault_damping_ = false;  // even the damping law failed: STO
    stop_phase_ = StopPhase::kNone;
  }
}

// ---- floating base stops (issue 13) ----

void SafetySupervisor::set_stop_policy(const StopPolicy& policy, double fall_protect_time_s) {
  stop_policy_ = policy;
  stop_policy_set_ = true;
  fall_protect_time_s_ = fall_protect_time_s;
}

void SafetySupervisor::begin_stop(SupervisorState to, Reason reason, bool torque_was_on) {
  phase_t0_ = t_;
  phase_cycle_ = cycle_;
  if (to != SupervisorState::kEstop && to != SupervisorState::kFault && to != SupervisorState::kDamping) {
    stop_phase_ = StopPhase::kNone;
    return;
  }
  const int code = static_cast<int>(reason);
  StopCategory category = code >= 0 && code < kStopPolicySlots ? stop_policy_[code] : StopCategory::kTorqueOff;
  if (stop_category_for(reason) == StopCategory::kProtectiveFall) category = StopCategory::kProtectiveFall;
  if (to == SupervisorState::kDamping && category == StopCategory::kTorqueOff) category = StopCategory::kControlled;
  if (!torque_was_on && to != SupervisorState::kDamping) category = StopCategory::kTorqueOff;
  switch (category) {
    case StopCategory::kTorqueOff: stop_phase_ = StopPhase::kNone; break;
    case StopCategory::kControlled: stop_phase_ = StopPhase::kDamp; break;
    case StopCategory::kCrouch: stop_phase_ = StopPhase::kCrouch; break;
    case StopCategory::kProtectiveFall: stop_phase_ = StopPhase::kFallProtect; break;
  }
  // The legacy flags follow, so every check that reads them sees the same stop.
  estop_damping_ = to == SupervisorState::kEstop && stop_phase_ != StopPhase::kNone;
  fault_damping_ = to == SupervisorState::kFault && stop_phase_ != StopPhase::kNone;
}

bool SafetySupervisor::stop_torque_on() const {
  switch (stop_phase_) {
    case StopPhase::kNone: return false;
    case StopPhase::kCrouch:
    case StopPhase::kCrouchHold: return true;
    case StopPhase::kDamp: return t_ - phase_t0_ < params_.damping_time_s - kTimeEpsilon;
    case StopPhase::kFallProtect: return t_ - phase_t0_ < fall_protect_time_s_ - kTimeEpsilon;
  }
  return false;
}

void SafetySupervisor::fall(const Cause& cause) {
  if (!torque_on() || stop_phase_ == StopPhase::kFallProtect) return;  // nothing to protect, or already
  if (state_ != SupervisorState::kFault && state_ != SupervisorState::kEstop) return fault(cause);
  // A stop in progress (crouch, damping) turns into the protective behaviour; the latch stays.
  stop_phase_ = StopPhase::kFallProtect;
  phase_t0_ = t_;
  phase_cycle_ = cycle_;
  if (state_ == SupervisorState::kFault) fault_cause_ = cause;
  acknowledge(cause, 0, true);
}

void SafetySupervisor::crouch_reached() {
  if (stop_phase_ != StopPhase::kCrouch) return;
  stop_phase_ = StopPhase::kCrouchHold;
  phase_t0_ = t_;
  phase_cycle_ = cycle_;
  acknowledge({Reason::kCrouchComplete}, 0, true);
}

void SafetySupervisor::crouch_supported(const Cause& cause) {
  if (!crouching()) return;
  stop_phase_ = StopPhase::kDamp;
  phase_t0_ = t_;
  phase_cycle_ = cycle_;
  acknowledge(cause, 0, true);
}

}  // namespace humanoid_rt
