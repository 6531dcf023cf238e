// The teleop receiver: a C++ thread that turns authenticated UDP packets into
// setpoints for the control loop, without Python and without the GIL.
//
//   recvfrom (timeout) -> parse_packet (size, declared length, magic, version, HMAC, fields)
//   -> e-stop flag: ControlLoop::estop() at once (the loop reaches ESTOP next cycle)
//   -> session and replay window -> clock mapping and TTL -> kind:
//        joints: start gate, step and velocity clipping -> ControlLoop::write_setpoint (latest wins)
//        hands:  mapped to named joints when configured, else counted unsupported
//        frame poses: frame_id = task slot (index into the robot config's model.tasks), start gate
//                     per frame -> ControlLoop::write_task (that slot only) + refresh_watchdog
//        base target: clipped to the contact QP's limits (counted) -> ContactWbc::set_base_target
//                     (a wait-free triple buffer into the loop) + refresh_watchdog; a robot without the
//                     contact QP counts it base_target_unsupported and moves nothing
//
// Clock mapping. The packet carries the sender's timestamp (any clock) and
// `due_in_us`, the time after that stamp at which the target should be
// reached. The receiver keeps, per session, offset = min over packets of
// (receive loop time - sender time), relaxed upward by kOffsetRelaxPerS so a
// drifting sender clock or a slower route is followed. A packet's excess
// delay is (receive - sender - offset) >= 0: how much later it came than the
// fastest packet of the session. Then
//     t_target (loop time) = sender time + offset + due_in = receive - excess + due_in,
// which is independent of the clocks' absolute skew, and a packet whose excess
// exceeds its TTL is rejected as expired. The watchdog runs from the receive
// time: setpoint.t_written = receive loop time, setpoint.ttl = packet TTL.
//
// Frame poses. A pose record drives the Cartesian impedance task of its frame
// (task.t_target from the same clock mapping, stiffness and damping from the
// options). The loop's watchdog must cover pose streams as it covers joint
// streams, so each applied pose packet also calls ControlLoop::refresh_watchdog
// (t_written = receive time, ttl = packet TTL): the stream going silent then
// leads to HOLD and, after hold_timeout, DAMPING (which drops the tasks), at
// the same times as a joint stream. A refresh rather than a joint setpoint
// carrying the current posture target: a setpoint would restart the joint
// interpolator on every pose packet and race a joint stream (or Python) for the
// posture, whereas the refresh changes nothing but the watchdog. The task
// carries ttl and t_written too, so the loop never revives it after a
// re-enable. The first pose of each frame in an engagement (after the stream
// lapsed, a new session, or a refusal for the supervisor's state) must lie
// within pose_start_gate_m / pose_start_gate_rad of that frame's measured pose.
//
// Base target. The record's pelvis height offset and roll/pitch/yaw are clipped into the robot's
// model.standing.base_target limits (ContactWbc::clamp_base_target; counted clipped_base_target) and
// written with duration = t_target - receive time (>= 0); the contact QP moves its reference there no
// faster than its configured speeds, so there is no start gate: a far target is a slow one. The
// producer side of the QP's buffer takes a mutex the loop never takes (this thread and Python's calls
// are serialised by it); the loop reads the buffer wait-free.
//
// Scheduling: SCHED_OTHER by default; ReceiverOptions::priority > 0 asks for
// SCHED_FIFO at that priority, which must be below the loop's (checked).
//
// Threads: start()/stop()/statistics() from any one non-RT thread (Python);
// everything else runs on the receiver thread. Statistics are atomics and
// lock-free histograms; the last rejection message is a seqlock the receiver
// writes without waiting (a reader retries), written before its counter moves.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "humanoid_rt/control_loop.hpp"
#include "humanoid_rt/latency_histogram.hpp"
#include "humanoid_rt/teleop_protocol.hpp"

namespace humanoid_rt::teleop {

// One hand maps to joints: q = open_q + grip * (closed_q - open_q).
struct HandJoint {
  int hand = 0;  // 0 left, 1 right
  int joint = 0;
  double open_q = 0.0, closed_q = 0.0;
};

struct ReceiverOptions {
  std::string host = "127.0.0.1";  // IPv4 address to bind; "0.0.0.0" to listen on every interface
  int port = 0;                    // 0: the kernel picks one (see Receiver::port())
  std::vector<std::uint8_t> key;   // pre-shared HMAC key, >= 16 bytes
  int priority = 0;                // 0: SCHED_OTHER; else SCHED_FIFO priority below the loop's
  double start_gate_rad = 0.8;     // first target of an engagement farther than this from measured: refused
  double ramp_velocity_fraction = 0.25;  // while ramping in: velocity clip at this fraction of each joint's limit
  double velocity_fraction = 1.0;  // engaged: targets move at most this fraction of the velocity limit
  double max_step_rad = 0.5;       // engaged: a target moves at most this far from the previous one per packet
  int replay_window = 64;          // sequences remembered per session (1..64)
  double poll_timeout_s = 0.002;   // recvfrom timeout (statistics and latency bookkeeping run at least this often)
  int receive_buffer_bytes = 1 << 20;
  std::vector<HandJoint> hand_joints;
  // Frame poses: the first pose of a frame in an engagement farther than this from the
  // frame's measured pose is refused (start_gate).
  double pose_start_gate_m = 0.3;
  double pose_start_gate_rad = 0.8;
  // Cartesian impedance of teleop poses: [N/m x3, Nm/rad x3] and [N s/m x3, Nm s/rad x3]
  // (Python passes the Robot's DEFAULT_TASK_STIFFNESS and its critical-damping rule).
  std::array<double, 6> pose_stiffness{1000.0, 1000.0, 1000.0, 60.0, 60.0, 60.0};
  std::array<double, 6> pose_damping{89.44271909999159, 89.44271909999159, 89.44271909999159,
                                     3.4641016151377544, 3.4641016151377544, 3.4641016151377544};
};

// A short text with one writer that never waits and readers that retry (a seqlock): the writer
// bumps `version` to odd, writes, bumps it to even; a reader keeps a copy only when it saw the
// same even version before and after. Characters are relaxed atomics, so there is no data race.
class SeqlockText {
 public:
  static constexpr std::size_t kCapacity = 200;
  void write(const char* text);  // one writer thread
  std::string read() const;      // any thread; retries while a write is in progress

 private:
  std::atomic<std::uint32_t> version_{0};
  std::array<std::atomic<char>, kCapacity> text_{};
};

struct ReceiverStatistics {
  std::uint64_t received = 0;   // datagrams
  std::uint64_t accepted = 0;   // passed every check (joint, hand, pose and e-stop-only packets)
  std::array<std::uint64_t, static_cast<int>(Reject::kCount)> rejected{};
  std::uint64_t gaps = 0;       // sequence numbers skipped within a session (lost or not sent)
  std::uint64_t estops = 0;     // packets with the e-stop flag acted on
  std::uint64_t setpoints_written = 0;
  std::uint64_t setpoints_applied = 0;     // seen applied by the loop (receive->applied latency recorded)
  std::uint64_t setpoints_superseded = 0;  // overwritten by a newer one before the loop took it (latest wins)
  std::uint64_t poses_applied = 0;         // pose records written to their frame's task
  std::uint64_t pose_engagements = 0;      // frames engaged through the pose start gate
  std::uint64_t hand_unsupported = 0;      // hand packets naming no configured hand joint
  std::uint64_t base_targets_applied = 0;  // base target records written to the contact QP
  std::uint64_t clipped_base_target = 0;   // base target records clipped to model.standing.base_target
  std::uint64_t base_target_unsupported = 0;  // base target packets on a robot without the contact QP
  std::uint64_t clipped_velocity = 0;      // joint targets clipped by the velocity limit (incl. ramp-in)
  std::uint64_t clipped_step = 0;          // joint targets clipped by max_step_rad
  std::uint64_t clipped_gains = 0;         // gains lowered to the configured defaults
  std::uint64_t ramp_packets = 0;          // packets applied while ramping in
  std::uint64_t engagements = 0;
  bool engaged = false;
  std::uint64_t session_id = 0;
  std::uint64_t last_sequence = 0;
  std::uint64_t unshared_clock = 0;  // packets whose sender time is ahead of the receive time (clocks not shared)
};

class Receiver {
 public:
  Receiver(ControlLoop& loop, const ReceiverOptions& options);
  ~Receiver();
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  void start();  // binds and starts the thread; throws std::runtime_error naming host:port on failure
  void stop();
  bool running() const { return running_.load(); }
  int port() const { return bound_port_; }
  const ReceiverOptions& options() const { return options_; }
  bool sched_fifo() const { return sched_fifo_.load(); }

  ReceiverStatistics statistics() const;
  std::string last_rejection() const;    // "reason: message" of the newest rejection
  std::string last_unsupported() const;  // why the newest hand packet moved nothing
  const LatencyHistogram& transit_latency() const { return transit_; }    // sender stamp -> receive (shared clock)
  const LatencyHistogram& applied_latency() const { return applied_; }    // receive -> applied in the loop's command

 private:
  void main();
  void handle(const std::uint8_t* data, std::size_t len, double t_recv, long long mono_ns);
  void reject(Reject r, const char* message);
  void note_unsupported(const char* message);
  void track_applied();
  bool apply_poses(const Packet& p, double t_recv, double t_target, double ttl);
  bool apply_base_target(const Packet& p, double t_recv, double t_target, double ttl);
  bool apply_joints(const Packet& p, const JointRecord* records, int count, double t_recv, double t_target, double ttl);

  ControlLoop& loop_;
  const ReceiverOptions options_;
  const int n_;
  const int n_tasks_;  // the loop's task frames: valid frame_id 0..n_tasks_-1
  HmacSha256 key_;  // keyed in the constructor; then receiver thread only (a tag check changes its context)
  int fd_ = -1;
  int bound_port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_flag_{false}, running_{false}, sched_fifo_{false};

  // Receiver thread only.
  Packet packet_{};
  std::uint64_t session_ = 0;
  std::uint64_t highest_ = 0;
  std::uint64_t window_bits_ = 0;  // bit k: highest_ - k was seen
  double offset_s_ = 0.0;          // receive loop time - sender time, min-filtered
  double offset_t_ = 0.0;
  double last_accept_t_ = -1e300;
  double session_ttl_ = 0.0;
  std::array<std::uint64_t, 16> retired_{};
  int retired_next_ = 0;
  bool engaged_ = false, ramping_ = false;
  double previous_t_target_ = 0.0;
  double last_written_t_ = -1e300;
  double last_written_ttl_ = 0.0;
  std::array<bool, kMaxTasks> pose_engaged_{};
  double pose_written_t_ = -1e300;
  double pose_written_ttl_ = 0.0;
  JointVector target_{}, tau_ff_{};
  JointGains gains_{};
  struct Pending {
    std::uint64_t sequence;
    double t_recv;
  };
  std::array<Pending, 64> pending_{};
  std::size_t pending_head_ = 0, pending_size_ = 0;

  // Shared (receiver writes, any thread reads).
  std::atomic<std::uint64_t> received_{0}, accepted_{0}, gaps_{0}, estops_{0}, written_{0}, applied_count_{0},
      superseded_{0}, poses_applied_{0}, pose_engagements_{0}, hand_unsupported_{0}, clipped_velocity_{0}, clipped_step_{0},
      clipped_gains_{0}, ramp_packets_{0}, engagements_{0}, session_id_{0}, last_sequence_{0}, unshared_clock_{0},
      base_targets_applied_{0}, clipped_base_target_{0}, base_target_unsupported_{0};
  std::array<std::atomic<std::uint64_t>, static_cast<int>(Reject::kCount)> rejected_{};
  std::atomic<bool> engaged_flag_{false};
  LatencyHistogram transit_, applied_;
  // Written by the receiver thread (which never waits), read by any thread. Each message is written
  // before the counter it explains is incremented, so a reader that sees the new count sees its message.
  SeqlockText last_rejection_, last_unsupported_;
};

// Upward relaxation of the clock-offset estimate [s per s].
inline constexpr double kOffsetRelaxPerS = 1e-3;

}  // namespace humanoid_rt::teleop
