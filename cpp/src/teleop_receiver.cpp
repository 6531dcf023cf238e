#include "humanoid_rt/teleop_receiver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "humanoid_rt/realtime_thread.hpp"

namespace humanoid_rt::teleop {

namespace {
bool takes_setpoints(SupervisorState s) { return s == SupervisorState::kActive || s == SupervisorState::kHold; }
}  // namespace

Receiver::Receiver(ControlLoop& loop, const ReceiverOptions& options)
    : loop_(loop), options_(options), n_(loop.n_joints()), n_tasks_(loop.n_tasks()) {
  if (options.key.size() < 16) throw std::invalid_argument("key: " + std::to_string(options.key.size()) +
                                                           " bytes; allowed: at least 16 bytes (32 recommended)");
  if (!(options.start_gate_rad > 0.0 && std::isfinite(options.start_gate_rad)))
    throw std::invalid_argument("start_gate_rad: allowed: a finite number > 0");
  if (!(options.ramp_velocity_fraction > 0.0 && options.ramp_velocity_fraction <= 1.0))
    throw std::invalid_argument("ramp_velocity_fraction: allowed: (0, 1]");
  if (!(options.velocity_fraction > 0.0 && options.velocity_fraction <= 1.0))
    throw std::invalid_argument("velocity_fraction: allowed: (0, 1]");
  if (!(options.max_step_rad > 0.0 && std::isfinite(options.max_step_rad)))
    throw std::invalid_argument("max_step_rad: allowed: a finite number > 0");
  if (options.replay_window < 1 || options.replay_window > 64)
    throw std::invalid_argument("replay_window: allowed: 1..64");
  if (!(options.poll_timeout_s >= 0.0005 && options.poll_timeout_s <= 1.0))
    throw std::invalid_argument("poll_timeout_s: allowed: 0.0005..1");
  if (options.port < 0 || options.port > 65535) throw std::invalid_argument("port: allowed: 0..65535");
  if (options.priority < 0 || options.priority > 98) throw std::invalid_argument("priority: allowed: 0..98");
  if (options.priority > 0 && loop.options().priority > 0 && options.priority >= loop.options().priority)
    throw std::invalid_argument("priority: " + std::to_string(options.priority) + "; allowed: 0 (SCHED_OTHER) or 1.." +
                                std::to_string(loop.options().priority - 1) + " (below the loop's)");
  for (const HandJoint& h : options.hand_joints) {
    if (h.hand < 0 || h.hand > 1) throw std::invalid_argument("hand_joints.hand: allowed: 0 (left), 1 (right)");
    if (h.joint < 0 || h.joint >= n_)
      throw std::invalid_argument("hand_joints.joint: allowed: 0.." + std::to_string(n_ - 1));
  }
  if (!(options.pose_start_gate_m > 0.0 && std::isfinite(options.pose_start_gate_m)))
    throw std::invalid_argument("pose_start_gate_m: allowed: a finite number > 0 [m]");
  if (!(options.pose_start_gate_rad > 0.0 && std::isfinite(options.pose_start_gate_rad)))
    throw std::invalid_argument("pose_start_gate_rad: allowed: a finite number > 0 [rad]");
  for (int k = 0; k < 6; ++k) {
    if (!(options.pose_stiffness[k] >= 0.0 && std::isfinite(options.pose_stiffness[k])))
      throw std::invalid_argument("pose_stiffness[" + std::to_string(k) + "]: allowed: a finite number >= 0");
    if (!(options.pose_damping[k] >= 0.0 && std::isfinite(options.pose_damping[k])))
      throw std::invalid_argument("pose_damping[" + std::to_string(k) + "]: allowed: a finite number >= 0");
  }
  key_.set_key(options.key.data(), options.key.size());
  for (int j = 0; j < n_; ++j) gains_.kp[j] = loop.joint(j).kp, gains_.kd[j] = loop.joint(j).kd;
}

Receiver::~Receiver() { stop(); }

void Receiver::start() {
  if (running_.load()) throw std::logic_error("teleop receiver already running");
  const std::string where = "udp://" + options_.host + ":" + std::to_string(options_.port);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(options_.port));
  const std::string host = options_.host == "localhost" ? "127.0.0.1" : options_.host;
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
    throw std::invalid_argument("host: " + options_.host + "; allowed: an IPv4 address (127.0.0.1, 0.0.0.0) or localhost");
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("teleop: socket(): " + std::string(std::strerror(errno)));
  const int buffer = options_.receive_buffer_bytes;
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  timeval timeout{};
  timeout.tv_sec = static_cast<long>(options_.poll_timeout_s);
  timeout.tv_usec = static_cast<long>((options_.poll_timeout_s - static_cast<double>(timeout.tv_sec)) * 1e6);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("teleop: cannot bind " + where + ": " + std::strerror(error));
  }
  socklen_t addr_len = sizeof addr;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &addr_len);
  bound_port_ = ntohs(addr.sin_port);
  stop_flag_.store(false);
  running_.store(true);
  // Python's signal handling must stay on the main thread: the receiver blocks every signal.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  thread_ = std::thread(&Receiver::main, this);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

void Receiver::stop() {
  stop_flag_.store(true);
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  running_.store(false);
}

void Receiver::main() {
  if (options_.priority > 0) {
    sched_param param{};
    param.sched_priority = options_.priority;
    sched_fifo_.store(pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) == 0);
  }
  alignas(8) std::uint8_t buffer[kMaxPacketBytes + 64];
  while (!stop_flag_.load(std::memory_order_relaxed)) {
    // MSG_TRUNC: the return value is the datagram's real length even when it did not fit.
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, MSG_TRUNC);
    if (n >= 0) {
      const double t_recv = loop_.now();
      const long long mono = monotonic_now_ns();
      track_applied();
      received_.fetch_add(1, std::memory_order_relaxed);
      // A datagram longer than the buffer reports its full length: parse_packet rejects it as
      // oversized (> kMaxPacketBytes < sizeof buffer) before reading a byte.
      handle(buffer, static_cast<std::size_t>(n), t_recv, mono);
    }
    track_applied();
    if (engaged_ && loop_.now() - last_written_t_ > last_written_ttl_) {  // the stream lapsed: report it
      engaged_ = false;
      engaged_flag_.store(false);
    }
  }
  running_.store(false);
}

void SeqlockText::write(const char* text) {
  const std::uint32_t v = version_.load(std::memory_order_relaxed);
  version_.store(v + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);  // readers see the odd version before any character
  std::size_t i = 0;
  for (; i + 1 < kCapacity && text[i] != '\0'; ++i) text_[i].store(text[i], std::memory_order_relaxed);
  text_[i].store('\0', std::memory_order_relaxed);
  version_.store(v + 2, std::memory_order_release);
}

std::string SeqlockText::read() const {
  char copy[kCapacity];
  for (;;) {
    const std::uint32_t before = version_.load(std::memory_order_acquire);
    if (before & 1u) {
      std::this_thread::yield();  // a write of at most 200 characters is in progress
      continue;
    }
    for (std::size_t i = 0; i < kCapacity; ++i) copy[i] = text_[i].load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (version_.load(std::memory_order_relaxed) == before) break;
  }
  copy[kCapacity - 1] = '\0';
  return std::string(copy);
}

void Receiver::reject(Reject r, const char* message) {
  char text[SeqlockText::kCapacity];
  std::snprintf(text, sizeof text, "%s: %s", to_string(r), message);
  last_rejection_.write(text);  // before the count: a reader that sees the count sees this message
  rejected_[static_cast<int>(r)].fetch_add(1, std::memory_order_release);
}

void Receiver::note_unsupported(const char* message) { last_unsupported_.write(message); }

void Receiver::handle(const std::uint8_t* data, std::size_t len, double t_recv, long long mono_ns) {
  Packet& p = packet_;
  const ParseResult parsed = parse_packet(data, len, key_, p);
  if (!parsed.ok()) return reject(parsed.reject, parsed.message);
  if (p.kind == Kind::kJoints)
    for (int i = 0; i < p.count; ++i)
      if (p.joints[i].index >= n_) {
        char message[128];
        std::snprintf(message, sizeof message, "joints[%d].index: %u; allowed: 0..%d (this robot's joints)", i,
                      p.joints[i].index, n_ - 1);
        return reject(Reject::kBadField, message);
      }
  if (p.kind == Kind::kFramePoses)
    for (int i = 0; i < p.count; ++i)
      if (p.poses[i].frame_id >= n_tasks_) {
        char message[160];
        if (n_tasks_ == 0)
          std::snprintf(message, sizeof message,
                        "poses[%d].frame_id: %u; allowed: none (this robot's config lists no model.tasks)", i,
                        p.poses[i].frame_id);
        else
          std::snprintf(message, sizeof message,
                        "poses[%d].frame_id: %u; allowed: 0..%d (index into this robot's model.tasks)", i,
                        p.poses[i].frame_id, n_tasks_ - 1);
        return reject(Reject::kBadField, message);
      }

  // Stopping is always safe: any authenticated, well-formed e-stop acts before session and replay checks.
  if (p.estop()) {
    loop_.estop();
    estops_.fetch_add(1, std::memory_order_relaxed);
  }

  // Session: a new one may take over only when the current one is silent past its TTL.
  const double ttl = p.ttl_us * 1e-6;
  if (p.session_id != session_) {
    for (std::uint64_t old : retired_)
      if (old == p.session_id) return reject(Reject::kReplayed, "session_id: a retired session; allowed: a new session id");
    if (session_ != 0 && t_recv - last_accept_t_ <= session_ttl_) {
      char message[128];
      std::snprintf(message, sizeof message, "session_id: %016llx while %016llx streams; allowed after %.3f s of silence",
                    static_cast<unsigned long long>(p.session_id), static_cast<unsigned long long>(session_),
                    session_ttl_);
      return reject(Reject::kSessionConflict, message);
    }
    if (session_ != 0) retired_[retired_next_++ % retired_.size()] = session_;
    session_ = p.session_id;
    highest_ = 0;
    window_bits_ = 0;
    engaged_ = false;
    engaged_flag_.store(false);
    pose_engaged_.fill(false);
    offset_s_ = t_recv - static_cast<double>(p.sender_time_ns) * 1e-9;
    offset_t_ = t_recv;
    session_id_.store(session_);
  }

  // Replay window over sequences: latest wins.
  if (p.sequence <= highest_) {
    const std::uint64_t age = highest_ - p.sequence;
    if (age >= static_cast<std::uint64_t>(options_.replay_window) || (window_bits_ >> age) & 1u)
      return reject(Reject::kReplayed, "sequence: already seen or older than the replay window; allowed: new sequences");
    window_bits_ |= 1ull << age;
    return reject(Reject::kReordered, "sequence: older than the newest of the session; allowed: newer (latest wins)");
  }
  if (highest_ != 0 && p.sequence > highest_ + 1) gaps_.fetch_add(p.sequence - highest_ - 1, std::memory_order_relaxed);
  const std::uint64_t shift = p.sequence - highest_;
  window_bits_ = shift >= 64 ? 1u : (window_bits_ << shift) | 1u;
  highest_ = p.sequence;
  last_sequence_.store(highest_, std::memory_order_relaxed);

  // Clock mapping (see the header) and expiry.
  const double sender_s = static_cast<double>(p.sender_time_ns) * 1e-9;
  offset_s_ = std::min(t_recv - sender_s, offset_s_ + kOffsetRelaxPerS * std::max(0.0, t_recv - offset_t_));
  offset_t_ = t_recv;
  const double excess = std::max(0.0, t_recv - sender_s - offset_s_);
  if (mono_ns >= p.sender_time_ns)
    transit_.record(mono_ns - p.sender_time_ns);
  else
    unshared_clock_.fetch_add(1, std::memory_order_relaxed);
  if (excess > ttl) {
    char message[128];
    std::snprintf(message, sizeof message, "sender_time_ns: %.4f s later than the session's fastest packet; allowed: <= ttl %.4f s",
                  excess, ttl);
    return reject(Reject::kExpired, message);
  }
  last_accept_t_ = t_recv;
  session_ttl_ = ttl;
  const double t_target = t_recv - excess + p.due_in_us * 1e-6;

  if (p.count == 0) {  // e-stop only
    accepted_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (p.kind == Kind::kHands) {
    JointRecord records[kMaxJoints];
    int count = 0;
    for (int i = 0; i < p.count; ++i)
      for (const HandJoint& h : options_.hand_joints)
        if (h.hand == p.hands[i].hand && count < kMaxJoints) {
          JointRecord& r = records[count++];
          r = JointRecord{};
          r.index = static_cast<std::uint16_t>(h.joint);
          r.q = static_cast<float>(h.open_q + p.hands[i].grip * (h.closed_q - h.open_q));
        }
    if (count == 0) {
      note_unsupported("hands: accepted but not applied; this robot configures no joints for the hands in the packet");
      hand_unsupported_.fetch_add(1, std::memory_order_release);
      accepted_.fetch_add(1, std::memory_order_release);
      return;
    }
    Packet hand_packet = p;
    hand_packet.flags = p.flags & kFlagEstop;
    if (apply_joints(hand_packet, records, count, t_recv, t_target, ttl)) accepted_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (p.kind == Kind::kFramePoses) {
    if (apply_poses(p, t_recv, t_target, ttl)) accepted_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (p.kind == Kind::kBaseTarget) {
    if (!loop_.contact_wbc()) {
      note_unsupported("base_target: accepted but not applied; this robot does not stand on the contact QP "
                       "(model.base: floating with model.standing.controller: contact_qp)");
      base_target_unsupported_.fetch_add(1, std::memory_order_release);
      accepted_.fetch_add(1, std::memory_order_release);
      return;
    }
    if (apply_base_target(p, t_recv, t_target, ttl)) accepted_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (apply_joints(p, p.joints.data(), p.count, t_recv, t_target, ttl)) accepted_.fetch_add(1, std::memory_order_relaxed);
}

bool Receiver::apply_poses(const Packet& p, double t_recv, double t_target, double ttl) {
  const StateSnapshot state = loop_.read_state();
  if (!takes_setpoints(state.state)) {
    pose_engaged_.fill(false);
    char message[128];
    std::snprintf(message, sizeof message, "supervisor state: %s; allowed: ACTIVE or HOLD (enable the robot first)",
                  to_string(state.state));
    reject(Reject::kNotActive, message);
    return false;
  }
  // The stream lapsed (the loop's watchdog expired): every frame re-engages through the gate.
  if (t_recv - pose_written_t_ > pose_written_ttl_) pose_engaged_.fill(false);
  // Start gate, for every record before any is applied: a packet moves all its frames or none.
  for (int i = 0; i < p.count; ++i) {
    const PoseRecord& r = p.poses[i];
    if (pose_engaged_[r.frame_id]) continue;
    std::array<double, 3> position;
    std::array<double, 4> quaternion;
    if (!loop_.task_frame_pose(state.q, r.frame_id, position, quaternion)) continue;  // n_tasks_ > 0 implies a model
    double distance2 = 0.0, dot = 0.0, norm2 = 0.0;
    for (int k = 0; k < 3; ++k) distance2 += (r.position[k] - position[k]) * (r.position[k] - position[k]);
    for (int k = 0; k < 4; ++k) dot += r.quaternion[k] * quaternion[k], norm2 += double(r.quaternion[k]) * r.quaternion[k];
    const double distance = std::sqrt(distance2);
    const double angle = 2.0 * std::acos(std::min(1.0, std::abs(dot) / std::sqrt(norm2)));
    if (!(distance <= options_.pose_start_gate_m && angle <= options_.pose_start_gate_rad)) {
      char message[200];
      std::snprintf(message, sizeof message,
                    "poses[%d] (frame %u): |position - measured| = %.3f m, angle %.3f rad; allowed: <= %.3f m and "
                    "<= %.3f rad (match the robot's pose)",
                    i, r.frame_id, distance, angle, options_.pose_start_gate_m, options_.pose_start_gate_rad);
      reject(Reject::kStartGate, message);
      return false;
    }
  }
  for (int i = 0; i < p.count; ++i) {
    const PoseRecord& r = p.poses[i];
    CartesianTask task;
    task.enabled = true;
    task.t_target = t_target;
    double norm2 = 0.0;
    for (int k = 0; k < 4; ++k) norm2 += double(r.quaternion[k]) * r.quaternion[k];
    const double norm = std::sqrt(norm2);  // the parser checked 1 +- 0.001
    for (int k = 0; k < 3; ++k) task.position[k] = r.position[k];
    for (int k = 0; k < 4; ++k) task.quaternion[k] = r.quaternion[k] / norm;
    task.stiffness = options_.pose_stiffness;
    task.damping = options_.pose_damping;
    task.t_written = t_recv;
    task.ttl = ttl;
    loop_.write_task(r.frame_id, task);
    if (!pose_engaged_[r.frame_id]) {
      pose_engaged_[r.frame_id] = true;
      pose_engagements_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  // After the tasks: a refresh that resumes HOLD -> ACTIVE finds the new targets in place.
  loop_.refresh_watchdog(t_recv, ttl);
  pose_written_t_ = t_recv;
  pose_written_ttl_ = ttl;
  poses_applied_.fetch_add(static_cast<std::uint64_t>(p.count), std::memory_order_relaxed);
  return true;
}

bool Receiver::apply_base_target(const Packet& p, double t_recv, double t_target, double ttl) {
  const StateSnapshot state = loop_.read_state();
  if (!takes_setpoints(state.state)) {
    char message[128];
    std::snprintf(message, sizeof message, "supervisor state: %s; allowed: ACTIVE or HOLD (enable the robot first)",
                  to_string(state.state));
    reject(Reject::kNotActive, message);
    return false;
  }
  ContactWbc& standing = *loop_.contact_wbc();
  const BaseTargetRecord& r = p.base_targets[0];  // count is 1 (0 only for an e-stop, handled before)
  double height = r.height_offset;
  std::array<double, 3> rpy{r.rpy[0], r.rpy[1], r.rpy[2]};
  if (standing.clamp_base_target(height, rpy)) clipped_base_target_.fetch_add(1, std::memory_order_relaxed);
  standing.set_base_target(height, rpy, std::max(0.0, t_target - t_recv));  // in range now: never throws
  loop_.refresh_watchdog(t_recv, ttl);
  base_targets_applied_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool Receiver::apply_joints(const Packet& p, const JointRecord* records, int count, double t_recv, double t_target,
                            double ttl) {
  const StateSnapshot state = loop_.read_state();
  if (!takes_setpoints(state.state)) {
    engaged_ = false;
    engaged_flag_.store(false);
    char message[128];
    std::snprintf(message, sizeof message, "supervisor state: %s; allowed: ACTIVE or HOLD (enable the robot first)",
                  to_string(state.state));
    reject(Reject::kNotActive, message);
    return false;
  }
  // The stream lapsed (the loop's watchdog expired): re-engage through the gate.
  if (engaged_ && t_recv - last_written_t_ > last_written_ttl_) {
    engaged_ = false;
    engaged_flag_.store(false);
  }
  if (!engaged_) {
    for (int i = 0; i < count; ++i) {
      const int j = records[i].index;
      const double distance = std::abs(static_cast<double>(records[i].q) - state.q[j]);
      if (!(distance <= options_.start_gate_rad)) {
        char message[160];
        std::snprintf(message, sizeof message,
                      "joints[%d] (joint %d): |target - measured| = %.3f rad; allowed: <= %.3f rad (match the robot's pose)",
                      i, j, distance, options_.start_gate_rad);
        reject(Reject::kStartGate, message);
        return false;
      }
    }
    // Start from the loop's reference so nothing jumps; ramp toward the operator.
    target_ = state.q_ref;
    tau_ff_.fill(0.0);
    previous_t_target_ = t_recv;
    engaged_ = ramping_ = true;
    engaged_flag_.store(true);
    engagements_.fetch_add(1, std::memory_order_relaxed);
  }
  const double dt = std::clamp(t_target - previous_t_target_, 0.0, ttl);
  const double fraction = ramping_ ? options_.ramp_velocity_fraction : options_.velocity_fraction;
  bool velocity_clipped = false;
  JointSetpoint sp;
  sp.source = SetpointSource::kTeleop;
  for (int i = 0; i < count; ++i) {
    const JointRecord& r = records[i];
    const int j = r.index;
    const JointLimits& l = loop_.joint(j).limits;
    const double desired = std::clamp(static_cast<double>(r.q), l.q_soft_min, l.q_soft_max);
    double delta = desired - target_[j];
    const double max_velocity_step = fraction * l.velocity * dt;
    if (std::abs(delta) > max_velocity_step) {
      delta = std::copysign(max_velocity_step, delta);
      velocity_clipped = true;
      clipped_velocity_.fetch_add(1, std::memory_order_relaxed);
    }
    if (std::abs(delta) > options_.max_step_rad) {
      delta = std::copysign(options_.max_step_rad, delta);
      clipped_step_.fetch_add(1, std::memory_order_relaxed);
    }
    target_[j] += delta;
    if (p.flags & kFlagVelocity) sp.dq[j] = std::clamp(static_cast<double>(r.dq), -l.velocity, l.velocity);
    if (p.flags & kFlagTauFf) tau_ff_[j] = std::clamp(static_cast<double>(r.tau_ff), -l.torque, l.torque);
    if (p.flags & kFlagGains) {
      const double kp = std::min(static_cast<double>(r.kp), loop_.joint(j).kp);
      const double kd = std::min(static_cast<double>(r.kd), loop_.joint(j).kd);
      if (kp != r.kp || kd != r.kd) clipped_gains_.fetch_add(1, std::memory_order_relaxed);
      gains_.kp[j] = kp, gains_.kd[j] = kd;
    }
  }
  if (ramping_) ramp_packets_.fetch_add(1, std::memory_order_relaxed);
  // Velocities are only trusted once the ramp is over (they describe the operator, not the ramp).
  sp.has_velocity = (p.flags & kFlagVelocity) && !ramping_;
  if (ramping_ && !velocity_clipped) ramping_ = false;
  sp.q = target_;
  sp.tau_ff = tau_ff_;
  sp.t_target = t_target;
  sp.ttl = ttl;
  sp.t_written = t_recv;
  if (p.flags & kFlagGains) loop_.write_gains(gains_);
  const std::uint64_t sequence = loop_.write_setpoint(sp);
  written_.fetch_add(1, std::memory_order_relaxed);
  previous_t_target_ = t_target;
  last_written_t_ = t_recv;
  last_written_ttl_ = ttl;
  if (pending_size_ == pending_.size()) {  // the loop is not taking setpoints: forget the oldest
    pending_head_ = (pending_head_ + 1) % pending_.size();
    --pending_size_;
    superseded_.fetch_add(1, std::memory_order_relaxed);
  }
  pending_[(pending_head_ + pending_size_++) % pending_.size()] = {sequence, t_recv};
  return true;
}

void Receiver::track_applied() {
  if (pending_size_ == 0) return;
  const StateSnapshot state = loop_.read_state();
  const std::uint64_t applied = state.setpoint_sequence_applied;
  while (pending_size_ > 0) {
    const Pending& front = pending_[pending_head_];
    if (front.sequence > applied) break;
    if (front.sequence == applied) {
      applied_.record(static_cast<std::int64_t>(std::llround((state.setpoint_applied_t - front.t_recv) * 1e9)));
      applied_count_.fetch_add(1, std::memory_order_relaxed);
    } else {
      superseded_.fetch_add(1, std::memory_order_relaxed);
    }
    pending_head_ = (pending_head_ + 1) % pending_.size();
    --pending_size_;
  }
}

ReceiverStatistics Receiver::statistics() const {
  ReceiverStatistics s;
  s.received = received_.load();
  s.accepted = accepted_.load();
  for (std::size_t i = 0; i < s.rejected.size(); ++i) s.rejected[i] = rejected_[i].load();
  s.gaps = gaps_.load();
  s.estops = estops_.load();
  s.setpoints_written = written_.load();
  s.setpoints_applied = applied_count_.load();
  s.setpoints_superseded = superseded_.load();
  s.poses_applied = poses_applied_.load();
  s.pose_engagements = pose_engagements_.load();
  s.hand_unsupported = hand_unsupported_.load();
  s.base_targets_applied = base_targets_applied_.load();
  s.clipped_base_target = clipped_base_target_.load();
  s.base_target_unsupported = base_target_unsupported_.load();
  s.clipped_velocity = clipped_velocity_.load();
  s.clipped_step = clipped_step_.load();
  s.clipped_gains = clipped_gains_.load();
  s.ramp_packets = ramp_packets_.load();
  s.engagements = engagements_.load();
  s.engaged = engaged_flag_.load();
  s.session_id = session_id_.load();
  s.last_sequence = last_sequence_.load();
  s.unshared_clock = unshared_clock_.load();
  return s;
}

std::string Receiver::last_rejection() const { return last_rejection_.read(); }

std::string Receiver::last_unsupported() const { return last_unsupported_.read(); }

}  // namespace humanoid_rt::teleop
