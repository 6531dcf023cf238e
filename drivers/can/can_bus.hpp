// A CAN / CAN-FD bus of MIT-family actuators, driven from the RT loop.
//
// The frame channel is a file descriptor carrying the kernel's `struct can_frame` (16 bytes)
// or `struct canfd_frame` (72 bytes): a PF_CAN raw socket on a robot (open_socketcan()), or
// one end of an AF_UNIX SOCK_SEQPACKET socketpair whose other end runs virtual motors
// (humanoid_rt.can.virtual). The read/write path is the same for both.
//
// One cycle of the loop is   read(t) ... write(t):
//   write()  sends one frame per joint: the command (torque only, or drive-side q, dq, kp, kd,
//            tau_ff), or enter/exit motor mode when the joint's torque_enabled flag changes,
//            and marks each joint as awaiting its reply;
//   read()   (next cycle) takes every frame already queued, matches each to its joint by
//            CAN ID and device field, and waits with ppoll() -- never spinning -- until every
//            awaited reply is in or the reply deadline passes. A joint without a reply is
//            reported with fresh = 0 and its last values; the supervisor faults after
//            safety.max_missed_replies consecutive misses. Frames naming no device of this bus
//            and frames of the wrong length or kind are rejected and counted.
// The reply deadline is short in real time (the replies had the whole period to arrive) and
// long in stepped mode (the virtual motors on the other end run on another thread and must
// be waited for so stepped runs stay exact); set_realtime() switches between the two.
//
// read()/write() allocate nothing, take no locks, log nothing; all buffers are sized in
// add_device()/configure().
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "humanoid_rt/bus.hpp"
#include "can/can_codecs.hpp"

namespace humanoid_rt::can {

struct CanBusOptions {
  bool fd = false;                        // send canfd_frame (CAN-FD); else can_frame
  bool bit_rate_switch = true;            // CAN-FD: data phase at the data bit rate (BRS flag)
  double reply_timeout_s = 0.0;           // real time: how long read() waits for late replies; 0 = 25 % of the period
  double stepped_reply_timeout_s = 0.05;  // stepped mode: how long read() waits for the virtual motors
  double setup_timeout_s = 0.5;           // configure()/deactivate(): how long to wait for every device
};

struct CanDevice {
  int joint = -1;                 // robot joint index
  Protocol protocol = Protocol::kMitReference;
  std::uint32_t device_id = 1;    // the motor's CAN ID / device number
  std::uint32_t host_id = 0;      // reference/CubeMars: reply ID; Damiao: master ID; Robstride: host ID
  MitRanges ranges{};
};

struct CanBusStatistics {
  std::uint64_t cycles = 0;
  std::uint64_t frames_sent = 0;
  std::uint64_t frames_received = 0;
  std::uint64_t replies = 0;             // matched to an awaited reply
  std::uint64_t missed_replies = 0;      // awaited replies absent at the deadline
  std::uint64_t extra_replies = 0;       // a second reply for one joint in one cycle (the newest is kept)
  std::uint64_t rejected_wrong_id = 0;   // well-formed frames naming no device of this bus
  std::uint64_t rejected_malformed = 0;  // wrong length, frame kind or channel record size
  std::uint64_t send_errors = 0;         // frames the channel refused (queue full, link down)
  std::uint64_t waits = 0;               // cycles in which read() had to wait for replies
  std::uint64_t max_wait_ns = 0;         // longest such wait
  std::uint64_t special_frames = 0;      // enter/exit/zero/clear-error frames sent
};

class CanBus final : public Bus {
 public:
  static constexpr int kMaxDevices = 64;

  // Takes ownership of `fd` (closed on destruction).
  CanBus(std::string name, int fd, const CanBusOptions& options);
  // Opens a PF_CAN raw socket on `interface` (e.g. "can0"); throws with the errno text.
  static std::shared_ptr<CanBus> open_socketcan(std::string name, const std::string& interface,
                                                const CanBusOptions& options);
  ~CanBus() override;
  CanBus(const CanBus&) = delete;
  CanBus& operator=(const CanBus&) = delete;

  // Configuration time (before configure()).
  void add_device(const CanDevice& device);
  void set_realtime(bool realtime) override { realtime_.store(realtime); }  // any non-RT thread, loop stopped

  // Bus interface.
  const std::string& name() const override { return name_; }
  void configure(const std::vector<int>& joint_indices, double period_s) override;
  void activate() override;
  BusStatus read(double t, JointState& motor_state) override;
  BusStatus write(double t, const JointCommand& motor_command) override;
  void deactivate() override;

  // Non-RT, loop not running: set the present position of `joint` as its zero; true when acknowledged.
  bool zero_position(int joint);

  // Any thread.
  CanBusStatistics statistics() const;
  BusCounters counters() const override {
    const CanBusStatistics s = statistics();
    return {s.cycles, s.frames_sent, s.frames_received, s.missed_replies, s.rejected_wrong_id + s.rejected_malformed,
            s.send_errors};
  }
  std::uint64_t missed_replies(int joint) const;  // per robot joint index
  const CanBusOptions& options() const { return options_; }
  int fd() const { return fd_; }
  const std::vector<CanDevice>& devices() const { return devices_; }

 private:
  struct Slot {                 // one per device; configuration time, then RT-owned
    CanDevice device;
    std::uint32_t reply_id = 0;
    std::uint32_t reply_mask = 0;
    bool reply_extended = false;
    bool awaiting = false;      // RT: a reply to this cycle's frame is due
    bool answered = false;      // RT: it arrived
    bool entered = false;       // RT: motor mode entered (torque enabled)
    Reply last{};               // RT: last decoded values
  };

  bool send(const Frame& frame);                // RT-safe
  void receive_until(long long deadline_ns);    // RT-safe: drain, then ppoll until answered or deadline
  void handle(const Frame& frame);              // RT-safe
  int awaiting_count() const;
  void exchange_setup(bool probe_only, const char* what);  // non-RT

  const std::string name_;
  const CanBusOptions options_;
  int fd_ = -1;                                 // owned; I/O only from the loop thread once configured
  std::vector<CanDevice> devices_;              // configuration time
  std::vector<Slot> slots_;                     // sized in configure(); RT-owned afterwards
  double period_s_ = 0.001;                     // configuration time
  long long realtime_timeout_ns_ = 0;           // configuration time
  long long stepped_timeout_ns_ = 0;            // configuration time
  std::atomic<bool> realtime_{false};           // non-RT writes while stopped, RT reads
  bool configured_ = false;

  // Statistics: written by the loop thread (relaxed), read by any thread.
  struct Counters {
    std::atomic<std::uint64_t> cycles{0}, frames_sent{0}, frames_received{0}, replies{0}, missed_replies{0},
        extra_replies{0}, rejected_wrong_id{0}, rejected_malformed{0}, send_errors{0}, waits{0}, max_wait_ns{0},
        special_frames{0};
  } counters_;
  std::array<std::atomic<std::uint64_t>, kMaxJoints> joint_missed_{};  // loop thread writes, any thread reads
};

}  // namespace humanoid_rt::can
