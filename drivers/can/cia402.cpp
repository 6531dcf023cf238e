#include "cia402.hpp"

#include "can/can_channel.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace humanoid_rt::can {

namespace {

constexpr std::uint32_t kSync = 0x080, kEmcyBase = 0x080, kTpdo1Base = 0x180, kTpdo2Base = 0x280, kRpdo1Base = 0x200;

void bump(std::atomic<std::uint64_t>& c, std::uint64_t by = 1) {
  c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);  // single writer
}
std::uint16_t le16(const std::uint8_t* d) { return static_cast<std::uint16_t>(d[0] | (d[1] << 8)); }
std::int32_t le32(const std::uint8_t* d) {
  return static_cast<std::int32_t>(std::uint32_t(d[0]) | (std::uint32_t(d[1]) << 8) | (std::uint32_t(d[2]) << 16) |
                                   (std::uint32_t(d[3]) << 24));
}
void put_le16(std::uint8_t* d, std::uint16_t v) {
  d[0] = static_cast<std::uint8_t>(v);
  d[1] = static_cast<std::uint8_t>(v >> 8);
}
void put_le32(std::uint8_t* d, std::int32_t value) {
  const std::uint32_t v = static_cast<std::uint32_t>(value);
  for (int i = 0; i < 4; ++i) d[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
// Round and saturate to an integer type's range (NaN -> 0).
template <typename T>
T saturate(double x) {
  if (!(x == x)) return 0;
  const double lo = static_cast<double>(std::numeric_limits<T>::min()), hi = static_cast<double>(std::numeric_limits<T>::max());
  return static_cast<T>(std::llround(x < lo ? lo : (x > hi ? hi : x)));
}

}  // namespace

Cia402Bus::Cia402Bus(std::string name, int fd, const Cia402BusOptions& options)
    : name_(std::move(name)), options_(options), fd_(fd) {
  if (fd < 0) throw std::invalid_argument("CiA 402 bus " + name_ + ": invalid file descriptor");
  if (options.stop_category < 0 || options.stop_category > 2)
    throw std::invalid_argument("CiA 402 bus " + name_ + ": stop_category must be 0, 1 or 2");
  const int flags = fcntl(fd_, F_GETFL);
  if (flags < 0 || fcntl(fd_, F_SETFL, flags | O_NONBLOCK) < 0)
    throw std::runtime_error("CiA 402 bus " + name_ + ": cannot make the channel non-blocking: " + std::strerror(errno));
}

Cia402Bus::~Cia402Bus() {
  if (fd_ >= 0) ::close(fd_);
}

void Cia402Bus::add_device(const Cia402Device& d) {
  if (configured_) throw std::logic_error("CiA 402 bus " + name_ + ": add_device() after configure()");
  if (d.joint < 0 || d.joint >= kMaxJoints) throw std::out_of_range("CiA 402 device joint index");
  if (d.node_id < 1 || d.node_id > 127)
    throw std::invalid_argument("CiA 402 device of joint " + std::to_string(d.joint) + ": node_id must be in 1..127");
  if (!(d.counts_per_rad > 0) || !(d.rated_torque_nm > 0))
    throw std::invalid_argument("CiA 402 device of joint " + std::to_string(d.joint) +
                                ": counts_per_rad and rated_torque_nm must be > 0");
  for (const Cia402Device& o : devices_)
    if (o.joint == d.joint || o.node_id == d.node_id)
      throw std::invalid_argument("CiA 402 bus " + name_ + ": joint " + std::to_string(d.joint) + " or node " +
                                  std::to_string(d.node_id) + " added twice");
  if (static_cast<int>(devices_.size()) >= kMaxDevices) throw std::length_error("CiA 402 bus: too many devices");
  devices_.push_back(d);
}

void Cia402Bus::configure(const std::vector<int>& joint_indices, double period_s) {
  slots_.reset(new Slot[joint_indices.size()]);
  n_slots_ = static_cast<int>(joint_indices.size());
  for (int k = 0; k < n_slots_; ++k) {
    const Cia402Device* found = nullptr;
    for (const Cia402Device& d : devices_)
      if (d.joint == joint_indices[k]) found = &d;
    if (!found)
      throw std::invalid_argument("CiA 402 bus " + name_ + ": joint " + std::to_string(joint_indices[k]) +
                                  " has no device (add_device)");
    slots_[k].device = *found;
  }
  const double rt = options_.reply_timeout_s > 0.0 ? options_.reply_timeout_s : 0.25 * period_s;
  realtime_timeout_ns_ = static_cast<long long>(rt * 1e9);
  stepped_timeout_ns_ = static_cast<long long>(options_.stepped_reply_timeout_s * 1e9);
  // Every drive must answer a SYNC (configured, NMT operational) before the loop may run.
  disable_and_sync();
  receive_until(monotonic_ns() + 500000000LL);
  std::string silent;
  for (int k = 0; k < n_slots_; ++k) {
    Slot& s = slots_[k];
    if (!(s.got_tpdo1 && s.got_tpdo2))
      silent += (silent.empty() ? "" : ", ") + std::string("joint ") + std::to_string(s.device.joint) + " (node " +
                std::to_string(s.device.node_id) + ")";
    s.awaiting = s.got_tpdo1 = s.got_tpdo2 = false;
  }
  if (!silent.empty())
    throw std::runtime_error("CiA 402 bus " + name_ + ": configure: no TPDOs within 0.5 s after SYNC from " + silent);
  configured_ = true;
}

void Cia402Bus::disable_and_sync() {
  // Disable voltage to every drive, then SYNC: the TPDOs answer it.
  for (int k = 0; k < n_slots_; ++k) {
    Slot& s = slots_[k];
    std::uint8_t d[8] = {};
    const int len = s.device.mode == Cia402Mode::kCst ? 4 : 6;
    if (s.device.mode == Cia402Mode::kCsp) put_le32(d + 2, s.position);
    send(kRpdo1Base + s.device.node_id, d, static_cast<std::uint8_t>(len));
    s.controlword.store(cia402::kDisableVoltage, std::memory_order_relaxed);
    s.awaiting = true;
    s.got_tpdo1 = s.got_tpdo2 = false;
  }
  send(kSync, nullptr, 0);
}

void Cia402Bus::activate() {
  disable_and_sync();  // the first read() collects the answers
  for (int k = 0; k < n_slots_; ++k) slots_[k].not_enabled_cycles = 0;
}

void Cia402Bus::deactivate() {
  if (!configured_) return;
  disable_and_sync();  // disable voltage
  receive_until(monotonic_ns() + 100000000LL);
  for (int k = 0; k < n_slots_; ++k) slots_[k].awaiting = false;
}

bool Cia402Bus::send(std::uint32_t id, const std::uint8_t* data, std::uint8_t len) {
  Frame f;
  f.id = id;
  f.len = len;
  if (len) std::memcpy(f.data, data, len);
  if (!send_frame(fd_, f, options_.fd, false)) {
    bump(counters_.send_errors);
    return false;
  }
  bump(counters_.frames_sent);
  return true;
}

bool Cia402Bus::all_answered() const {
  for (int k = 0; k < n_slots_; ++k) {
    const Slot& s = slots_[k];
    if (s.awaiting && !(s.got_tpdo1 && s.got_tpdo2)) return false;
  }
  return true;
}

void Cia402Bus::handle(std::uint32_t id, const std::uint8_t* d, std::uint8_t len) {
  for (int k = 0; k < n_slots_; ++k) {
    Slot& s = slots_[k];
    const std::uint32_t node = s.device.node_id;
    if (id == kTpdo1Base + node && len >= 8) {
      s.statusword.store(le16(d), std::memory_order_relaxed);
      s.position = le32(d + 2);
      s.torque = static_cast<std::int16_t>(le16(d + 6));
      s.got_tpdo1 = true;
      bump(counters_.replies);
      return;
    }
    if (id == kTpdo2Base + node && len >= 6) {
      s.velocity = le32(d);
      s.error_code = le16(d + 4);
      s.got_tpdo2 = true;
      bump(counters_.replies);
      return;
    }
    if (id == kEmcyBase + node && len == 8) {
      const std::uint16_t code = le16(d);
      if (code != 0) s.error_code = code;  // 0x0000: error reset / no error
      bump(counters_.emergencies);
      return;
    }
  }
  bump(counters_.rejected);
}

void Cia402Bus::receive_until(long long deadline_ns) {
  for (;;) {
    Frame f;
    for (Received r; (r = receive_frame(fd_, f)) != Received::kNone;) {  // everything queued, without blocking
      bump(counters_.frames_received);
      if (r == Received::kFrame && !f.extended) handle(f.id, f.data, f.len);
      else bump(counters_.rejected);  // CANopen uses 11-bit identifiers only
    }
    if (all_answered() || !wait_readable(fd_, deadline_ns)) return;
  }
}

BusStatus Cia402Bus::read(double, JointState& st) {
  bump(counters_.cycles);
  const long long start = monotonic_ns();
  const long long timeout = realtime_.load(std::memory_order_relaxed) ? realtime_timeout_ns_ : stepped_timeout_ns_;
  receive_until(all_answered() ? 0 : start + timeout);
  // Overslept (a stalled CPU): the drives may not have had their time either; wait once more (as CanBus).
  if (!all_answered() && monotonic_ns() - start > 2 * timeout) receive_until(monotonic_ns() + timeout);
  const std::uint64_t waited = static_cast<std::uint64_t>(monotonic_ns() - start);
  if (waited > counters_.max_wait_ns.load(std::memory_order_relaxed))
    counters_.max_wait_ns.store(waited, std::memory_order_relaxed);
  bool any_fault = false;
  for (int k = 0; k < n_slots_; ++k) {
    Slot& s = slots_[k];
    const int j = s.device.joint;
    const bool fresh = s.got_tpdo1 && s.got_tpdo2;
    if (s.awaiting && !fresh) bump(counters_.missed_replies);
    const double cpr = s.device.counts_per_rad;
    st.q[j] = s.position / cpr;
    st.dq[j] = s.velocity / cpr;
    st.tau[j] = s.torque * 1e-3 * s.device.rated_torque_nm;
    st.temperature_c[j] = std::numeric_limits<double>::quiet_NaN();
    const Cia402State state = decode_statusword(s.statusword.load(std::memory_order_relaxed));
    std::uint16_t error = 0;
    if (state == Cia402State::kFault || state == Cia402State::kFaultReactionActive) {
      error = s.error_code ? s.error_code : kErrorNoCode;
      any_fault = true;
    } else if (s.not_enabled_cycles > options_.enable_timeout_cycles) {
      error = kErrorEnableTimeout;
    }
    st.drive_error[j] = error;
    st.fresh[j] = fresh ? 1 : 0;
    s.awaiting = s.got_tpdo1 = s.got_tpdo2 = false;
  }
  if (!any_fault && fault_reset_requested_.load(std::memory_order_relaxed))
    fault_reset_requested_.store(false, std::memory_order_relaxed);  // done: no drive in fault
  return BusStatus::kOk;
}

BusStatus Cia402Bus::write(double, const JointCommand& cmd) {
  const bool reset = fault_reset_requested_.load(std::memory_order_relaxed);
  for (int k = 0; k < n_slots_; ++k) {
    Slot& s = slots_[k];
    const int j = s.device.joint;
    const Cia402Device& d = s.device;
    const Cia402State state = decode_statusword(s.statusword.load(std::memory_order_relaxed));
    const bool torque_on = cmd.torque_enabled[j] != 0;
    if (state == Cia402State::kFault && reset) s.reset_phase = !s.reset_phase;
    else s.reset_phase = false;
    const std::uint16_t cw = cia402::next_controlword(state, torque_on, options_.stop_category, reset && s.reset_phase);
    s.not_enabled_cycles = torque_on && state != Cia402State::kOperationEnabled ? s.not_enabled_cycles + 1 : 0;
    const bool operating = torque_on && state == Cia402State::kOperationEnabled;
    std::uint8_t data[8] = {};
    put_le16(data, cw);
    std::uint8_t len = 6;
    const double cpr = d.counts_per_rad;
    switch (d.mode) {
      case Cia402Mode::kCsp:  // position target; the measured position until operating (no jump on enable)
        put_le32(data + 2, operating ? saturate<std::int32_t>(cmd.q[j] * cpr) : s.position);
        break;
      case Cia402Mode::kCsv: {  // reference velocity plus the impedance's position correction kp/kd
        double v = cmd.dq[j];
        if (cmd.kd[j] > 0.0) v += cmd.kp[j] / cmd.kd[j] * (cmd.q[j] - s.position / cpr);
        put_le32(data + 2, operating ? saturate<std::int32_t>(v * cpr) : 0);
        break;
      }
      case Cia402Mode::kCst:
        put_le16(data + 2, static_cast<std::uint16_t>(
                               operating ? saturate<std::int16_t>(cmd.tau[j] / d.rated_torque_nm * 1000.0) : 0));
        len = 4;
        break;
    }
    s.controlword.store(cw, std::memory_order_relaxed);
    s.awaiting = send(kRpdo1Base + d.node_id, data, len);
    s.got_tpdo1 = s.got_tpdo2 = false;
  }
  send(kSync, nullptr, 0);
  return BusStatus::kOk;
}

Cia402BusStatistics Cia402Bus::statistics() const {
  Cia402BusStatistics s;
  s.cycles = counters_.cycles.load();
  s.frames_sent = counters_.frames_sent.load();
  s.frames_received = counters_.frames_received.load();
  s.replies = counters_.replies.load();
  s.missed_replies = counters_.missed_replies.load();
  s.rejected = counters_.rejected.load();
  s.emergencies = counters_.emergencies.load();
  s.send_errors = counters_.send_errors.load();
  s.max_wait_ns = counters_.max_wait_ns.load();
  return s;
}

Cia402State Cia402Bus::state(int joint) const {
  for (int k = 0; k < n_slots_; ++k)
    if (slots_[k].device.joint == joint) return decode_statusword(slots_[k].statusword.load());
  throw std::invalid_argument("CiA 402 bus " + name_ + ": joint " + std::to_string(joint) + " is not on this bus");
}

std::uint16_t Cia402Bus::statusword(int joint) const {
  for (int k = 0; k < n_slots_; ++k)
    if (slots_[k].device.joint == joint) return slots_[k].statusword.load();
  throw std::invalid_argument("CiA 402 bus " + name_ + ": joint " + std::to_string(joint) + " is not on this bus");
}

std::uint16_t Cia402Bus::controlword(int joint) const {
  for (int k = 0; k < n_slots_; ++k)
    if (slots_[k].device.joint == joint) return slots_[k].controlword.load();
  throw std::invalid_argument("CiA 402 bus " + name_ + ": joint " + std::to_string(joint) + " is not on this bus");
}

}  // namespace humanoid_rt::can
