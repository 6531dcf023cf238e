// Virtual MIT-family motors answered from C++: the device end of a CAN channel at 1 kHz.
//
// Why C++ (and not one Python child process per bus): on the 2-core CI machine the Python
// virtual motors cost ~40 us of CPU per frame, ~1.2 ms per cycle for the bundled humanoid's 31
// motors. Split over four child processes that is still ~60 % of both cores next to the RT loop
// and the demo's own Python, and every reply races a 250 us deadline against CPython's scheduling
// and garbage-collection pauses. The same model in C++ answers a frame in about a microsecond, so
// a thread per bus keeps every deadline with the cores nearly idle.
//
// The Python `VirtualCanNetwork` (src/humanoid_rt/can/virtual.py) stays the reference and serves
// stepped runs; for a real-time run it hands each channel -- motor state, faults and all -- to one
// `VirtualMotorResponder` and takes it back when the loop stops. Both implement the same model in
// the same operation order (double precision, no FMA), so a reply sequence is bit-identical on
// either side (tests/test_can_virtual_native.py checks it); only the bytes of injected `garbled`
// replies come from a different random generator.
//
// Motor model (motor side, per command frame, after the reply is sent):
//   I ddq = sat(tau_in, tau_max) - b dq - c sign(dq),  tau_in = kp (q* - q) + kd (dq* - dq) + tau_ff
// integrated semi-implicitly in `substeps` steps over one loop period.
//
// Threads: the responder thread owns the channel fd and runs the motors; any other thread reads
// or changes motor state through motors()/set_faults(), which take `mutex_`. This is a test device,
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

// One motor: identity, ranges (double, as the Python reference holds them), model, state, faults.
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
  // canfd_frame records; `fd_frames` selects which this side sends).
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

  // Device side, exposed for golden agreement with the Python reference (no I/O).
  // Serves one frame; appends the replies (at most one) to `out`; returns false when ignored.
  bool handle(const Frame& in, std::vector<Frame>& out);

 private:
  void run();
  void serve_ready();                                     // responder thread, mutex_ held
  VirtualMotorState* find(const Frame& in, bool* system);  // mutex_ held
  void apply(VirtualMotorState& m, const Frame& in, bool robstride);
  void coast(VirtualMotorState& m);
  void reply(VirtualMotorState& m, std::vector<Frame>& out);
  void encode_reply(const VirtualMotorState& m, std::uint32_t device, Frame& f) const;
  std::uint32_t unused_id(const VirtualMotorState& m) const;

  const std::string name_;
  const int fd_;               // owned; I/O by the responder thread only once started
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
