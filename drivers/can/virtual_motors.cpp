#include "virtual_motors.hpp"

#include "can/can_channel.hpp"
#include "rotor/rotor.hpp"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace humanoid_rt::can {

namespace {

constexpr std::uint32_t kRobstrideMotion = 1, kRobstrideFeedback = 2, kRobstrideEnable = 3, kRobstrideStop = 4,
                        kRobstrideZero = 6;
constexpr std::uint32_t kMyActuatorCommandBase = 0x400, kMyActuatorReplyBase = 0x500, kMyActuatorSystemBase = 0x140,
                        kMyActuatorSystemReplyBase = 0x240;
constexpr std::uint8_t kMyActuatorShutdown = 0x80, kMyActuatorZeroToRom = 0x64;

// The device side's conversions (double precision; truncation like the firmware).
std::uint32_t to_code(double x, double lo, double hi, int bits) {
  if (x != x) x = 0.0;
  x = std::min(std::max(x, lo), hi);
  return static_cast<std::uint32_t>((x - lo) * static_cast<double>((1u << bits) - 1) / (hi - lo));
}
double from_code(std::uint32_t code, double lo, double hi, int bits) {
  return static_cast<double>(code) * (hi - lo) / static_cast<double>((1u << bits) - 1) + lo;
}
// Python's round(): half to even (the default FP rounding mode).
long long round_even(double x) { return static_cast<long long>(std::nearbyint(x)); }

}  // namespace

VirtualMotorResponder::VirtualMotorResponder(std::string name, int fd, bool fd_frames, double period_s,
                                             std::uint64_t seed)
    : name_(std::move(name)), fd_(fd), fd_frames_(fd_frames), period_s_(period_s), rng_(seed) {
  if (fd < -1) throw std::invalid_argument("virtual motors " + name_ + ": invalid file descriptor");
  if (!(period_s > 0.0) || !std::isfinite(period_s))
    throw std::invalid_argument("virtual motors " + name_ + ": period_s must be a finite number > 0");
  stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (stop_fd_ < 0) throw std::runtime_error("virtual motors " + name_ + ": eventfd failed");
  replies_.reserve(4);
}

VirtualMotorResponder::~VirtualMotorResponder() {
  stop();
  ::close(stop_fd_);
  if (fd_ >= 0) ::close(fd_);
}

void VirtualMotorResponder::add_motor(const VirtualMotorState& motor) {
  if (running()) throw std::logic_error("virtual motors " + name_ + ": add_motor() while running");
  if (!(motor.model.inertia_kgm2 > 0.0) || motor.model.substeps < 1)
    throw std::invalid_argument("virtual motor of joint " + std::to_string(motor.joint) +
                                ": inertia_kgm2 must be > 0 and substeps >= 1");
  std::lock_guard<std::mutex> lock(mutex_);
  motors_.push_back(motor);
  pending_.insert(pending_.end(), {motor.q, 0.0, 0.0, 0.0, 0.0});
}

bool VirtualMotorResponder::start(int priority, int cpu) {
  if (running()) throw std::logic_error("virtual motors " + name_ + ": already running");
  if (fd_ < 0) throw std::logic_error("virtual motors " + name_ + ": no channel to serve (frames come through handle())");
  std::uint64_t drain;
  while (::read(stop_fd_, &drain, sizeof(drain)) > 0) {
  }
  thread_ = std::thread([this] { run(); });
  bool granted = true;
  if (priority > 0) {
    sched_param sp{};
    sp.sched_priority = priority;
    granted = pthread_setschedparam(thread_.native_handle(), SCHED_FIFO, &sp) == 0;
  }
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    granted = pthread_setaffinity_np(thread_.native_handle(), sizeof(set), &set) == 0 && granted;
  }
  return granted;
}

void VirtualMotorResponder::stop() {
  if (!thread_.joinable()) return;
  const std::uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof(one));
  thread_.join();
}

void VirtualMotorResponder::run() {
  pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) continue;  // EINTR
    if (fds[1].revents) return;
    if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) return;  // the host end closed
    std::lock_guard<std::mutex> lock(mutex_);
    serve_ready();
  }
}

void VirtualMotorResponder::serve_ready() {
  Frame in;
  for (Received r; (r = receive_frame(fd_, in)) != Received::kNone;) {  // until nothing is queued
    if (r == Received::kInvalid) {
      ++stats_.frames_in;
      ++stats_.ignored;
      continue;
    }
    replies_.clear();
    serve_frame(in, replies_);
    for (const Frame& f : replies_)
      if (send_frame(fd_, f, fd_frames_, true)) ++stats_.frames_out;
  }
}

bool VirtualMotorResponder::sync(double timeout_s) {
  if (fd_ < 0) return true;  // frames come through handle(): nothing is ever queued here
  const long long deadline = monotonic_ns() + static_cast<long long>(timeout_s * 1e9);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!running()) serve_ready();  // not started: answer here
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLIN)) return true;
    }
    if (monotonic_ns() > deadline) return false;
    timespec ts{0, 200000};
    nanosleep(&ts, nullptr);
  }
}

std::vector<VirtualMotorState> VirtualMotorResponder::motors() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return motors_;
}

void VirtualMotorResponder::set_faults(int joint, int no_reply, int wrong_id, int garbled, double temperature_c,
                                       std::uint32_t error_code) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (VirtualMotorState& m : motors_) {
    if (m.joint == joint) {
      m.no_reply = no_reply;
      m.wrong_id = wrong_id;
      m.garbled = garbled;
      m.temperature_c = temperature_c;
      m.error_code = error_code;
      return;
    }
  }
  throw std::invalid_argument("virtual motors " + name_ + ": no motor for joint " + std::to_string(joint));
}

VirtualResponderStatistics VirtualMotorResponder::statistics() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

VirtualMotorState* VirtualMotorResponder::find(const Frame& in, bool* system) {
  // Command IDs first, then MyActuator system IDs.
  *system = false;
  for (VirtualMotorState& m : motors_) {
    if (in.extended) {
      if (m.protocol == Protocol::kRobstride && (in.id & 0xFF) == m.device_id) return &m;
    } else if (m.protocol != Protocol::kRobstride &&
               in.id == (m.protocol == Protocol::kMyActuator ? kMyActuatorCommandBase + m.device_id : m.device_id)) {
      return &m;
    }
  }
  if (in.extended) return nullptr;
  for (VirtualMotorState& m : motors_) {
    if (m.protocol == Protocol::kMyActuator && in.id == kMyActuatorSystemBase + m.device_id) {
      *system = true;
      return &m;
    }
  }
  return nullptr;
}

bool VirtualMotorResponder::handle(const Frame& in, std::vector<Frame>& out) {
  if (running()) throw std::logic_error("virtual motors " + name_ + ": handle() while the responder thread serves");
  std::lock_guard<std::mutex> lock(mutex_);
  return serve_frame(in, out);
}

bool VirtualMotorResponder::serve_frame(const Frame& in, std::vector<Frame>& out) {
  ++stats_.frames_in;
  bool system = false;
  VirtualMotorState* m = find(in, &system);
  if (m == nullptr) {
    ++stats_.ignored;
    return false;
  }
  if (in.extended) {
    if (in.len != 8) {
      ++stats_.ignored;
      return false;
    }
    const std::uint32_t kind = (in.id >> 24) & 0x1F;
    if (kind == kRobstrideMotion) {
      apply(*m, in, true);
    } else if (kind == kRobstrideEnable) {
      m->enabled = true;
      coast(*m);
    } else if (kind == kRobstrideStop) {
      m->enabled = false;
      if (in.data[0] == 1) m->error_code = 0;
      coast(*m);
    } else if (kind == kRobstrideZero) {
      m->zero_offset = m->q;
      coast(*m);
    } else {
      ++stats_.ignored;
      return false;
    }
    reply(*m, out);
    return true;
  }
  if (system) {
    if (in.len == 0) {
      ++stats_.ignored;
      return false;
    }
    if (in.data[0] == kMyActuatorShutdown) m->enabled = false;
    else if (in.data[0] == kMyActuatorZeroToRom) m->zero_offset = m->q;
    Frame f;
    f.id = kMyActuatorSystemReplyBase + m->device_id;
    f.len = 8;
    f.data[0] = in.data[0];
    out.push_back(f);
    return true;
  }
  if (in.len != 8) {
    ++stats_.ignored;
    return false;
  }
  bool special = m->protocol != Protocol::kMyActuator && in.data[7] >= 0xFB && in.data[7] <= 0xFE;
  for (int i = 0; i < 7 && special; ++i) special = in.data[i] == 0xFF;
  if (special) {
    switch (in.data[7]) {
      case 0xFC: m->enabled = true; break;
      case 0xFD: m->enabled = false; break;
      case 0xFE: m->zero_offset = m->q; break;
      case 0xFB:
        if (m->protocol == Protocol::kDamiao) m->error_code = 0;
        break;
    }
    coast(*m);
  } else {
    if (m->protocol == Protocol::kMyActuator) m->enabled = true;  // motion mode acts on every command
    apply(*m, in, false);
  }
  reply(*m, out);
  return true;
}

void VirtualMotorResponder::apply(VirtualMotorState& m, const Frame& in, bool robstride) {
  ++m.commands;
  double* p = &pending_[5 * (&m - motors_.data())];
  const std::uint8_t* d = in.data;
  if (robstride) {
    auto be16 = [](const std::uint8_t* b) { return (std::uint32_t(b[0]) << 8) | b[1]; };
    p[0] = from_code(be16(d), -m.p_max, m.p_max, 16) + m.zero_offset;
    p[1] = from_code(be16(d + 2), -m.v_max, m.v_max, 16);
    p[2] = from_code(be16(d + 4), 0.0, m.kp_max, 16);
    p[3] = from_code(be16(d + 6), 0.0, m.kd_max, 16);
    p[4] = from_code((in.id >> 8) & 0xFFFF, -m.t_max, m.t_max, 16);
    return;
  }
  const std::uint32_t pc = (std::uint32_t(d[0]) << 8) | d[1];
  const std::uint32_t vc = (std::uint32_t(d[2]) << 4) | (d[3] >> 4);
  const std::uint32_t kpc = ((std::uint32_t(d[3]) & 0xF) << 8) | d[4];
  const std::uint32_t kdc = (std::uint32_t(d[5]) << 4) | (d[6] >> 4);
  const std::uint32_t tc = ((std::uint32_t(d[6]) & 0xF) << 8) | d[7];
  p[0] = from_code(pc, -m.p_max, m.p_max, 16) + m.zero_offset;
  p[1] = from_code(vc, -m.v_max, m.v_max, 12);
  p[2] = from_code(kpc, 0.0, m.kp_max, 12);
  p[3] = from_code(kdc, 0.0, m.kd_max, 12);
  p[4] = from_code(tc, -m.t_max, m.t_max, 12);
}

void VirtualMotorResponder::coast(VirtualMotorState& m) {
  ++m.commands;
  double* p = &pending_[5 * (&m - motors_.data())];
  p[0] = m.q;
  p[1] = p[2] = p[3] = p[4] = 0.0;
}

std::uint32_t VirtualMotorResponder::unused_id(const VirtualMotorState& motor) const {
  const std::uint32_t limit = motor.protocol == Protocol::kDamiao ? 16 : 256;
  for (std::uint32_t i = 1; i < limit; ++i) {
    bool used = false;
    for (const VirtualMotorState& m : motors_) used = used || (m.device_id % limit) == i;
    if (!used) return i;
  }
  return 0;
}

void VirtualMotorResponder::encode_reply(const VirtualMotorState& m, std::uint32_t dev, Frame& f) const {
  const double q = m.q - m.zero_offset;
  const double temperature = std::isnan(m.temperature_c) ? m.model.ambient_temperature_c : m.temperature_c;
  if (m.protocol == Protocol::kRobstride) {
    const std::uint32_t p = to_code(q, -m.p_max, m.p_max, 16), v = to_code(m.dq, -m.v_max, m.v_max, 16),
                        t = to_code(m.tau, -m.t_max, m.t_max, 16);
    const std::uint32_t temp = static_cast<std::uint32_t>(std::clamp<long long>(round_even(temperature * 10), 0, 0xFFFF));
    const std::uint32_t mode = m.enabled ? 2 : 0;
    f.id = (kRobstrideFeedback << 24) | (mode << 22) | ((m.error_code & 0x3F) << 16) | ((dev & 0xFF) << 8) |
           (m.host_id & 0xFF);
    f.extended = true;
    f.len = 8;
    const std::uint32_t words[4] = {p, v, t, temp};
    for (int i = 0; i < 4; ++i) {
      f.data[2 * i] = static_cast<std::uint8_t>(words[i] >> 8);
      f.data[2 * i + 1] = static_cast<std::uint8_t>(words[i]);
    }
    return;
  }
  const std::uint32_t p = to_code(q, -m.p_max, m.p_max, 16), v = to_code(m.dq, -m.v_max, m.v_max, 12),
                      t = to_code(m.tau, -m.t_max, m.t_max, 12);
  const std::uint8_t body[5] = {static_cast<std::uint8_t>(p >> 8), static_cast<std::uint8_t>(p & 0xFF),
                                static_cast<std::uint8_t>(v >> 4),
                                static_cast<std::uint8_t>(((v & 0xF) << 4) | (t >> 8)),
                                static_cast<std::uint8_t>(t & 0xFF)};
  const long long temp = std::clamp<long long>(round_even(temperature), -128, 127);
  f.extended = false;
  f.data[0] = static_cast<std::uint8_t>(dev & 0xFF);
  std::memcpy(f.data + 1, body, 5);
  switch (m.protocol) {
    case Protocol::kMitReference:
      f.id = m.host_id;
      f.len = 6;
      break;
    case Protocol::kCubeMars:
      f.id = m.host_id;
      f.len = 8;
      f.data[6] = static_cast<std::uint8_t>(static_cast<std::int8_t>(temp));
      f.data[7] = static_cast<std::uint8_t>(m.error_code & 0xFF);
      break;
    case Protocol::kDamiao: {
      const std::uint32_t state = m.error_code ? m.error_code : (m.enabled ? 1 : 0);
      const std::uint8_t t8 = static_cast<std::uint8_t>(std::clamp<long long>(temp, 0, 255));
      f.id = m.host_id;
      f.len = 8;
      f.data[0] = static_cast<std::uint8_t>(((state & 0xF) << 4) | (dev & 0xF));
      f.data[6] = f.data[7] = t8;
      break;
    }
    default:  // MyActuator motion mode
      f.id = kMyActuatorReplyBase + m.device_id;
      f.len = 8;
      f.data[6] = f.data[7] = 0;
      break;
  }
}

void VirtualMotorResponder::reply(VirtualMotorState& m, std::vector<Frame>& out) {
  if (m.no_reply) {
    m.no_reply -= m.no_reply > 0;
  } else if (m.wrong_id) {
    m.wrong_id -= m.wrong_id > 0;
    Frame f;
    encode_reply(m, unused_id(m), f);
    out.push_back(f);
  } else if (m.garbled) {
    m.garbled -= m.garbled > 0;
    Frame f;
    encode_reply(m, m.device_id, f);
    f.len = 3;
    for (int i = 0; i < 3; ++i) f.data[i] = static_cast<std::uint8_t>(rng_() & 0xFF);
    out.push_back(f);
  } else {
    Frame f;
    encode_reply(m, m.device_id, f);
    out.push_back(f);
  }
  // The command acts for one period after the reply, as on a drive.
  const double* p = &pending_[5 * (&m - motors_.data())];
  const double q_d = p[0], dq_d = p[1], kp = p[2], kd = p[3], tau_ff = p[4];
  const VirtualMotorModel& mm = m.model;
  const double h = period_s_ / mm.substeps;
  const double limit = mm.torque_limit_nm;
  double total = 0.0, q = m.q, dq = m.dq;
  for (int i = 0; i < mm.substeps; ++i) {
    double tau_in = m.enabled ? kp * (q_d - q) + kd * (dq_d - dq) + tau_ff : 0.0;
    tau_in = tau_in < -limit ? -limit : (tau_in > limit ? limit : tau_in);
    total += tau_in;
    rotor::step(mm.inertia_kgm2, mm.viscous_nm_s_rad, mm.coulomb_nm, h, tau_in, q, dq);
  }
  m.q = q;
  m.dq = dq;
  m.tau = total / mm.substeps;
}

}  // namespace humanoid_rt::can
