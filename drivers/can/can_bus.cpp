#include "can_bus.hpp"

#include "can/can_channel.hpp"

#include <fcntl.h>
#include <linux/can.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace humanoid_rt::can {

namespace {

void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);  // single writer
}

}  // namespace

CanBus::CanBus(std::string name, int fd, const CanBusOptions& options)
    : name_(std::move(name)), options_(options), fd_(fd) {
  if (fd < 0) throw std::invalid_argument("CAN bus " + name_ + ": invalid file descriptor");
  if (!(options.reply_timeout_s >= 0.0) || !(options.stepped_reply_timeout_s >= 0.0) ||
      !(options.setup_timeout_s > 0.0))
    throw std::invalid_argument("CAN bus " + name_ + ": timeouts must be >= 0 (setup_timeout_s > 0)");
  const int flags = fcntl(fd_, F_GETFL);
  if (flags < 0 || fcntl(fd_, F_SETFL, flags | O_NONBLOCK) < 0)
    throw std::runtime_error("CAN bus " + name_ + ": cannot make the channel non-blocking: " + std::strerror(errno));
}

std::shared_ptr<CanBus> CanBus::open_socketcan(std::string name, const std::string& interface,
                                               const CanBusOptions& options) {
  const int fd = ::socket(PF_CAN, SOCK_RAW, CAN_RAW);
  if (fd < 0)
    throw std::runtime_error("CAN bus " + name + ": socket(PF_CAN) failed: " + std::strerror(errno) +
                             (errno == EAFNOSUPPORT ? " (this kernel has no SocketCAN; use bus type can-virtual)" : ""));
  auto fail = [&](const std::string& what) {
    const std::string text = std::strerror(errno);
    ::close(fd);
    throw std::runtime_error("CAN bus " + name + ": " + what + " on interface " + interface + ": " + text);
  };
  if (options.fd) {
    const int on = 1;
    if (setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FD_FRAMES, &on, sizeof(on)) < 0) fail("enabling CAN-FD frames");
  }
  ifreq ifr{};
  if (interface.size() >= sizeof(ifr.ifr_name)) {
    ::close(fd);
    throw std::invalid_argument("CAN bus " + name + ": interface name too long: " + interface);
  }
  std::strncpy(ifr.ifr_name, interface.c_str(), sizeof(ifr.ifr_name) - 1);
  if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) fail("SIOCGIFINDEX");
  sockaddr_can addr{};
  addr.can_family = AF_CAN;
  addr.can_ifindex = ifr.ifr_ifindex;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) fail("bind");
  return std::make_shared<CanBus>(std::move(name), fd, options);
}

CanBus::~CanBus() {
  if (fd_ >= 0) ::close(fd_);
}

void CanBus::add_device(const CanDevice& device) {
  if (configured_) throw std::logic_error("CAN bus " + name_ + ": add_device() after configure()");
  if (device.joint < 0 || device.joint >= kMaxJoints) throw std::out_of_range("CAN device joint index");
  if (static_cast<int>(devices_.size()) >= kMaxDevices) throw std::length_error("CAN bus: too many devices");
  const MitRanges& r = device.ranges;
  if (!(r.p_max > 0 && r.v_max > 0 && r.kp_max > 0 && r.kd_max > 0 && r.t_max > 0))
    throw std::invalid_argument("CAN device of joint " + std::to_string(device.joint) + ": ranges must be > 0");
  for (const CanDevice& d : devices_) {
    if (d.joint == device.joint)
      throw std::invalid_argument("CAN bus " + name_ + ": joint " + std::to_string(device.joint) + " added twice");
  }
  devices_.push_back(device);
}

void CanBus::configure(const std::vector<int>& joint_indices, double period_s) {
  period_s_ = period_s;
  slots_.clear();
  slots_.reserve(joint_indices.size());
  for (int j : joint_indices) {
    const CanDevice* found = nullptr;
    for (const CanDevice& d : devices_)
      if (d.joint == j) found = &d;
    if (!found)
      throw std::invalid_argument("CAN bus " + name_ + ": joint " + std::to_string(j) + " has no device (add_device)");
    Slot s;
    s.device = *found;
    s.reply_id = reply_id(found->protocol, found->device_id, found->host_id, &s.reply_extended);
    s.reply_mask = reply_id_mask(found->protocol);
    s.last.temperature_c = std::nan("");
    slots_.push_back(s);
  }
  const double rt_timeout = options_.reply_timeout_s > 0.0 ? options_.reply_timeout_s : 0.25 * period_s;
  realtime_timeout_ns_ = static_cast<long long>(rt_timeout * 1e9);
  stepped_timeout_ns_ = static_cast<long long>(options_.stepped_reply_timeout_s * 1e9);
  // Every device must answer before the loop may run.
  exchange_setup(true, "configure");
  configured_ = true;
}

void CanBus::activate() {
  // Torque stays off: one more zero-torque probe whose replies the first read() collects.
  for (Slot& s : slots_) {
    Frame f;
    encode_command(s.device.protocol, s.device.ranges, s.device.device_id, s.device.host_id, 0, 0, 0, 0, 0, f);
    s.awaiting = send(f);
    s.answered = false;
    s.entered = false;
  }
}

void CanBus::deactivate() {
  if (!configured_) return;
  // Torque off: exit motor mode (MyActuator: shutdown) and wait for the acknowledgements.
  for (Slot& s : slots_) {
    Frame f;
    if (encode_special(s.device.protocol, Special::kExit, s.device.device_id, s.device.host_id, f)) {
      send(f);
      bump(counters_.special_frames);
    }
    s.entered = false;
  }
  const long long deadline = monotonic_ns() + static_cast<long long>(options_.setup_timeout_s * 0.2e9);
  while (wait_readable(fd_, deadline)) {  // drain the acknowledgements (status or shutdown echo)
    Frame f;
    while (receive_frame(fd_, f) != Received::kNone) {
    }
  }
  for (Slot& s : slots_) s.awaiting = false;
}

void CanBus::exchange_setup(bool probe_only, const char* what) {
  for (Slot& s : slots_) {
    Frame f;
    encode_command(s.device.protocol, s.device.ranges, s.device.device_id, s.device.host_id, 0, 0, 0, 0, 0, f);
    s.awaiting = send(f);
    s.answered = false;
  }
  receive_until(monotonic_ns() + static_cast<long long>(options_.setup_timeout_s * 1e9));
  std::string silent;
  for (Slot& s : slots_) {
    if (!s.answered) {
      silent += (silent.empty() ? "" : ", ") + std::string("joint ") + std::to_string(s.device.joint) + " (" +
                to_string(s.device.protocol) + " device " + std::to_string(s.device.device_id) + ")";
    }
    s.awaiting = s.answered = false;
  }
  if (!silent.empty())
    throw std::runtime_error("CAN bus " + name_ + ": " + what + ": no reply within " +
                             std::to_string(options_.setup_timeout_s) + " s from " + silent);
}

bool CanBus::zero_position(int joint) {
  for (Slot& s : slots_) {
    if (s.device.joint != joint) continue;
    Frame f;
    if (!encode_special(s.device.protocol, Special::kZero, s.device.device_id, s.device.host_id, f)) return false;
    bump(counters_.special_frames);
    // MyActuator answers a ROM write on another ID: only protocols with a status reply are confirmed.
    s.awaiting = send(f) && s.device.protocol != Protocol::kMyActuator;
    s.answered = false;
    if (!s.awaiting) return s.device.protocol == Protocol::kMyActuator;
    receive_until(monotonic_ns() + static_cast<long long>(options_.setup_timeout_s * 1e9));
    const bool ok = s.answered;
    s.awaiting = s.answered = false;
    return ok;
  }
  throw std::invalid_argument("CAN bus " + name_ + ": joint " + std::to_string(joint) + " is not on this bus");
}

bool CanBus::send(const Frame& frame) {
  if (!send_frame(fd_, frame, options_.fd, options_.bit_rate_switch)) {
    bump(counters_.send_errors);
    return false;
  }
  bump(counters_.frames_sent);
  return true;
}

int CanBus::awaiting_count() const {
  int n = 0;
  for (const Slot& s : slots_) n += (s.awaiting && !s.answered) ? 1 : 0;
  return n;
}

void CanBus::handle(const Frame& frame) {
  bool id_known = false, malformed = false;
  for (Slot& s : slots_) {
    if (frame.extended != s.reply_extended || (frame.id & s.reply_mask) != s.reply_id) continue;
    id_known = true;
    Reply r;
    const DecodeResult result = decode_reply(s.device.protocol, s.device.ranges, s.device.device_id, frame, r);
    if (result == DecodeResult::kMalformed) malformed = true;
    if (result != DecodeResult::kOk) continue;
    if (s.answered) bump(counters_.extra_replies);
    s.last = r;
    s.answered = true;
    bump(counters_.replies);
    return;
  }
  if (malformed) bump(counters_.rejected_malformed);
  else bump(counters_.rejected_wrong_id);
  (void)id_known;
}

void CanBus::receive_until(long long deadline_ns) {
  for (;;) {
    Frame f;
    for (Received r; (r = receive_frame(fd_, f)) != Received::kNone;) {  // everything queued, without blocking
      bump(counters_.frames_received);
      if (r == Received::kFrame) handle(f);
      else bump(counters_.rejected_malformed);
    }
    if (awaiting_count() == 0 || !wait_readable(fd_, deadline_ns)) return;
  }
}

BusStatus CanBus::read(double /*t*/, JointState& motor_state) {
  bump(counters_.cycles);
  if (awaiting_count() > 0) {
    const long long start = monotonic_ns();
    const long long timeout = realtime_.load(std::memory_order_relaxed) ? realtime_timeout_ns_ : stepped_timeout_ns_;
    receive_until(start + timeout);
    // Overslept (this thread was not running for much of the wait: a stalled or preempted CPU)?
    // Then the devices may not have had their time either; wait once more. On a robot the replies
    // are queued already and this costs nothing; with virtual devices on a stalled vCPU it keeps a
    // host stall from turning into missed replies.
    if (awaiting_count() > 0 && monotonic_ns() - start > 2 * timeout) receive_until(monotonic_ns() + timeout);
    // Count the cycles that still had replies outstanding when read() began (and the longest wait).
    const long long waited = monotonic_ns() - start;
    bump(counters_.waits);
    if (static_cast<std::uint64_t>(waited) > counters_.max_wait_ns.load(std::memory_order_relaxed))
      counters_.max_wait_ns.store(static_cast<std::uint64_t>(waited), std::memory_order_relaxed);
  } else {
    receive_until(0);  // nothing awaited: still drain and count what arrived
  }
  for (Slot& s : slots_) {
    const int j = s.device.joint;
    if (s.awaiting && !s.answered) {
      bump(counters_.missed_replies);
      bump(joint_missed_[j]);
    }
    motor_state.q[j] = s.last.q;
    motor_state.dq[j] = s.last.dq;
    motor_state.tau[j] = s.last.tau;
    motor_state.temperature_c[j] = s.last.temperature_c;
    motor_state.drive_error[j] = s.last.error;
    motor_state.fresh[j] = s.answered ? 1 : 0;
    s.awaiting = false;
    s.answered = false;
  }
  return BusStatus::kOk;
}

BusStatus CanBus::write(double /*t*/, const JointCommand& cmd) {
  for (Slot& s : slots_) {
    const int j = s.device.joint;
    const CanDevice& d = s.device;
    Frame f;
    const bool want_torque = cmd.torque_enabled[j] != 0;
    // MyActuator motion mode has no enter/exit frame in the loop: gains and torque act directly.
    const bool has_mode_frames = d.protocol != Protocol::kMyActuator;
    if (want_torque != s.entered && has_mode_frames) {
      encode_special(d.protocol, want_torque ? Special::kEnter : Special::kExit, d.device_id, d.host_id, f);
      bump(counters_.special_frames);
    } else if (want_torque) {
      if (cmd.mode[j] == CommandMode::kDriveImpedance)
        encode_command(d.protocol, d.ranges, d.device_id, d.host_id, cmd.q[j], cmd.dq[j], cmd.kp[j], cmd.kd[j],
                       cmd.tau[j], f);
      else
        encode_command(d.protocol, d.ranges, d.device_id, d.host_id, 0.0, 0.0, 0.0, 0.0, cmd.tau[j], f);
    } else {
      // Torque off: a zero-gain, zero-torque command keeps the status replies coming.
      encode_command(d.protocol, d.ranges, d.device_id, d.host_id, 0.0, 0.0, 0.0, 0.0, 0.0, f);
    }
    s.entered = want_torque;
    s.awaiting = send(f);
    s.answered = false;
  }
  return BusStatus::kOk;
}

CanBusStatistics CanBus::statistics() const {
  CanBusStatistics s;
  s.cycles = counters_.cycles.load();
  s.frames_sent = counters_.frames_sent.load();
  s.frames_received = counters_.frames_received.load();
  s.replies = counters_.replies.load();
  s.missed_replies = counters_.missed_replies.load();
  s.extra_replies = counters_.extra_replies.load();
  s.rejected_wrong_id = counters_.rejected_wrong_id.load();
  s.rejected_malformed = counters_.rejected_malformed.load();
  s.send_errors = counters_.send_errors.load();
  s.waits = counters_.waits.load();
  s.max_wait_ns = counters_.max_wait_ns.load();
  s.special_frames = counters_.special_frames.load();
  return s;
}

std::uint64_t CanBus::missed_replies(int joint) const {
  if (joint < 0 || joint >= kMaxJoints) throw std::out_of_range("joint index");
  return joint_missed_[joint].load();
}

}  // namespace humanoid_rt::can
