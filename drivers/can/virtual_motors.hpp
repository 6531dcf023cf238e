// Virtual MIT-family motors: the device end of a CAN channel, for tests, CI and the demo.
//
// This is the one implementation of the virtual motor (physics and device-side codec). Python's
// `VirtualCanNetwork` (src/humanoid_rt/can/virtual.py) owns one responder per channel and only
// moves frames: in stepped runs, and on python-can buses (udp_multicast, a real adapter), a
// Python thread reads each frame and passes it to handle(); for a real-time run, where replies
// are due within a quarter period, start() serves the socketpair from a C++ thread instead.
// Why a C++ thread there (and not one Python child process per bus): on the 2-core CI machine
// Python costs ~40 us of CPU per frame, ~1.2 ms per cycle for the bundled humanoid's 31 motors,
// and every reply would race a 250 us deadline against CPython's scheduling and GC pauses; in
// C++ a frame is answered in about a microsecond.
//
// Motor model (motor side, per command frame, after the reply is sent):
//   I ddq = sat(tau_in, tau_max) - b dq - c sign(dq),  tau_in = kp (q* - q) + kd (dq* - dq) + tau_ff
// integrated semi-implicitly (drivers/rotor/rotor.hpp) in `substeps` steps over one loop period. Time is counted in
// commands, never read from the wall clock, so stepped runs are exact.
//
// Threads: the responder thread (once started) owns the channel fd; every access to the motors
// (handle(), motors(), set_faults(), the responder thread) takes `mutex_`. This is a test device,
// not the RT loop: a lock here is fine (the RT thread never touches it).
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "can/can_codecs.hpp"

namespace humanoid_rt::can {

struct VirtualMotorModel {
  double inertia_kgm2 = 0.05;
  double viscous_nm_s_rad = 0.05;
  double coulomb_nm = 0.1;
  double torque_limit_nm = 18.0;
  double ambient_temperature_c = 35.0;
  int substeps = 4;
};

// One motor: identity, ranges, model, state, faults.
struct VirtualMotorState {
  int joint = -1;
  Protocol protocol = Protocol::kMitReference;
  std::uint32_t device_id = 1;
  std::uint32_t host_id = 0;
  double p_max = 12.5, v_max = 45.0, kp_max = 500.0, kd_max = 5.0, t_max = 18.0;
  VirtualMotorModel model{};
  double q = 0.0, dq = 0.0, tau = 0.0;
  bool enabled = false;
  std::uint64_t commands = 0;
  double zero_offset = 0.0;
  // Faults: replies still to affect (-1 = until cleared), injected temperature (NaN = ambient), error code.
  int no_reply = 0, wrong_id = 0, garbled = 0;
  double temperature_c = std::numeric_limits<double>::quiet_NaN();
  std::uint32_t error_code = 0;
};

struct VirtualResponderStatistics {
  std::uint64_t frames_in = 0, frames_out = 0, ignored = 0;
};

class VirtualMotorResponder {
 public:
  // Takes ownership of `fd` (the device end of a SOCK_SEQPACKET socketpair carrying can_frame /
  // canfd_frame records; `fd_frames` selects which this side sends), or fd = -1: no channel,
  // frames come only through handle() (python-can buses).
  VirtualMotorResponder(std::string name, int fd, bool fd_frames, double period_s, std::uint64_t seed);
  ~VirtualMotorResponder();
  VirtualMotorResponder(const VirtualMotorResponder&) = delete;
  VirtualMotorResponder& operator=(const VirtualMotorResponder&) = delete;

  void add_motor(const VirtualMotorState& motor);  // before start()
  // priority > 0: SCHED_FIFO at that priority when permitted; cpu >= 0: pinned to that CPU.
  // Returns whether everything asked for was granted.
  bool start(int priority = 0, int cpu = -1);
  void stop();  // joins the thread; frames still queued stay queued
  bool running() const { return thread_.joinable(); }
  // Waits (up to timeout_s) until every frame already sent to the motors has been answered.
  bool sync(double timeout_s);

  std::vector<VirtualMotorState> motors() const;  // a consistent snapshot
  // Sets the faults of the motor of `joint` (state untouched): replies affected, temperature, error code.
  void set_faults(int joint, int no_reply, int wrong_id, int garbled, double temperature_c, std::uint32_t error_code);
  VirtualResponderStatistics statistics() const;
  const std::string& name() const { return name_; }

  // Serves one frame without I/O (the caller moves the frames; not while started): appends the
  // replies (at most one) to `out`; returns false when ignored.
  bool handle(const Frame& in, std::vector<Frame>& out);

 private:
  void run();
  void serve_ready();                                     // responder thread, mutex_ held
  bool serve_frame(const Frame& in, std::vector<Frame>& out);  // mutex_ held
  VirtualMotorState* find(const Frame& in, bool* system);  // mutex_ held
  void apply(VirtualMotorState& m, const Frame& in, bool robstride);
  void coast(VirtualMotorState& m);
  void reply(VirtualMotorState& m, std::vector<Frame>& out);
  void encode_reply(const VirtualMotorState& m, std::uint32_t device, Frame& f) const;
  std::uint32_t unused_id(const VirtualMotorState& m) const;

  const std::string name_;
  const int fd_;               // owned (-1: none); I/O by the responder thread only once started
  const bool fd_frames_;
  const double period_s_;
  int stop_fd_ = -1;           // eventfd: any thread signals, the responder thread polls
  std::thread thread_;         // started/joined by the owning (Python) thread
  mutable std::mutex mutex_;   // guards everything below
  std::vector<VirtualMotorState> motors_;
  std::vector<double> pending_;  // 5 per motor: q*, dq*, kp, kd, tau_ff of the last command
  std::mt19937_64 rng_;
  VirtualResponderStatistics stats_;
  std::vector<Frame> replies_;   // responder thread scratch
};

}  // namespace humanoid_rt::can
