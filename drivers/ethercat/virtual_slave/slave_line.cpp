#include "ethercat/virtual_slave/slave_line.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace humanoid_rt::ethercat_virtual {

namespace {

constexpr std::uint16_t kEthPEcat = 0x88A4;
constexpr std::size_t kEthHeader = 14, kEcatHeader = 2, kDatagramHeader = 10, kWkcBytes = 2;

std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = v & 0xFF;
  p[1] = v >> 8;
}

bool is_logical(std::uint8_t c) { return c == kLrd || c == kLwr || c == kLrw; }

}  // namespace

SlaveLine::SlaveLine(const std::vector<DriveParams>& params, double period_s) : skip_pd_(params.size(), 0) {
  if (!(period_s > 0.0)) throw std::invalid_argument("period_s must be > 0 (the drive model's step per frame)");
  const int n = static_cast<int>(params.size());
  for (int i = 0; i < n; ++i) slaves_.push_back(std::make_unique<Esc>(i, n, params[i], period_s));
}

SlaveLine::~SlaveLine() { stop(); }

std::size_t SlaveLine::index(int slave) const {
  if (slave < 1 || slave > size())
    throw std::out_of_range("slave " + std::to_string(slave) + ": the line has slaves 1.." + std::to_string(size()));
  return static_cast<std::size_t>(slave - 1);
}

// ------------------------------------------------------------------------------ frames
bool SlaveLine::process(std::uint8_t* frame, std::size_t length, std::int64_t arrival_ns) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++stats_.frames;
  if (length < kEthHeader + kEcatHeader) return false;
  const std::uint16_t header = get16(frame + kEthHeader);
  if (header >> 12 != 1) return false;  // type 1: EtherCAT commands
  const std::size_t end = std::min(length, kEthHeader + kEcatHeader + (header & 0x07FF));
  for (auto& s : slaves_) s->set_frame_arrival(arrival_ns);
  std::size_t offset = kEthHeader + kEcatHeader;
  bool logical_seen = false;
  while (offset + kDatagramHeader + kWkcBytes <= end) {
    std::uint8_t* d = frame + offset;
    const std::uint8_t command = d[0];
    std::uint32_t address;
    std::memcpy(&address, d + 2, 4);  // little-endian host, as the wire
    const std::uint16_t length_flags = get16(d + 6);
    const std::size_t n = length_flags & 0x07FF;
    const std::size_t wkc_at = offset + kDatagramHeader + n;
    if (wkc_at + kWkcBytes > length) return false;
    logical_seen |= is_logical(command);
    const int wkc = datagram(command, address, d + kDatagramHeader, n, get16(frame + wkc_at), d + 2);
    put16(frame + wkc_at, static_cast<std::uint16_t>(wkc));
    offset = wkc_at + kWkcBytes;
    if (!(length_flags & 0x8000)) break;  // no more datagrams
  }
  if (logical_seen) {
    ++stats_.process_data_frames;
    for (auto& s : slaves_) s->process_data();
    if (drop_next_ > 0) {
      --drop_next_;
      ++stats_.dropped_frames;
      return false;
    }
  }
  frame[6] |= 0x02;  // a real line returns the frame with the source MAC's locally-administered bit set
  return true;
}

int SlaveLine::datagram(std::uint8_t command, std::uint32_t address, std::uint8_t* data, std::size_t length, int wkc,
                        std::uint8_t* adp_field) {
  const auto n = static_cast<std::uint16_t>(slaves_.size());
  if (is_logical(command)) {
    for (std::size_t i = 0; i < slaves_.size(); ++i) {
      if (skip_pd_[i] > 0) {
        --skip_pd_[i];
        continue;
      }
      wkc += slaves_[i]->logical(command, address, data, length);
    }
    return wkc;
  }
  const std::uint16_t adp = address & 0xFFFF, ado = static_cast<std::uint16_t>(address >> 16);
  std::uint8_t current[2048];
  if (command == kBrd || command == kBwr || command == kBrw) {
    for (auto& s : slaves_) {
      if (command != kBwr) s->read(ado, current, length);
      if (command != kBrd) s->write(ado, data, length);
      if (command != kBwr)
        for (std::size_t k = 0; k < length; ++k) data[k] |= current[k];  // broadcast reads OR into the frame
      wkc += command == kBrw ? 3 : 1;
    }
    put16(adp_field, static_cast<std::uint16_t>(adp + n));  // every slave increments ADP
    return wkc;
  }
  const bool automatic = command == kAprd || command == kApwr || command == kAprw || command == kArmw;
  for (std::size_t i = 0; i < slaves_.size(); ++i) {
    Esc& s = *slaves_[i];
    const bool addressed = automatic ? static_cast<std::uint16_t>(adp + i) == 0 : s.station_address() == adp;
    if (command == kArmw || command == kFrmw) {  // addressed slave reads, every other writes
      if (addressed)
        s.read(ado, data, length);
      else
        s.write(ado, data, length);
      ++wkc;
      continue;
    }
    if (!addressed) continue;
    switch (command) {
      case kAprd: case kFprd:
        s.read(ado, data, length);
        wkc += 1;
        break;
      case kApwr: case kFpwr:
        s.write(ado, data, length);
        wkc += 1;
        break;
      case kAprw: case kFprw:
        s.read(ado, current, length);
        s.write(ado, data, length);
        std::memcpy(data, current, length);
        wkc += 3;
        break;
      default:
        break;
    }
  }
  if (automatic) put16(adp_field, static_cast<std::uint16_t>(adp + n));
  return wkc;
}

// ------------------------------------------------------------------------------ the frame thread
void SlaveLine::start(const std::string& interface, int priority, bool echo) {
  if (thread_.joinable()) throw std::logic_error("virtual EtherCAT line: start() twice");
  const int fd = socket(AF_PACKET, SOCK_RAW, htons(kEthPEcat));
  if (fd < 0) throw std::runtime_error("virtual EtherCAT line: raw socket: " + std::string(std::strerror(errno)));
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(kEthPEcat);
  address.sll_ifindex = static_cast<int>(if_nametoindex(interface.c_str()));
  if (address.sll_ifindex == 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    const std::string why = std::strerror(errno);
    close(fd);
    throw std::runtime_error("virtual EtherCAT line: cannot bind to interface " + interface + ": " + why);
  }
  socket_ = fd;
  stop_.store(false);
  thread_ = std::thread([this, echo] { serve(echo); });
  int got = 0;
  if (priority > 0) {
    sched_param sp{};
    sp.sched_priority = priority;
    if (pthread_setschedparam(thread_.native_handle(), SCHED_FIFO, &sp) == 0) got = priority;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.priority = got;
}

void SlaveLine::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  thread_.join();
  close(socket_);
  socket_ = -1;
}

void SlaveLine::serve(bool echo) {
  std::uint8_t frame[2048];
  pollfd pfd{socket_, POLLIN, 0};
  while (!stop_.load(std::memory_order_relaxed)) {
    if (poll(&pfd, 1, 100) <= 0) continue;  // timeout only to look at stop_
    const ssize_t n = recv(socket_, frame, sizeof frame, MSG_DONTWAIT);
    if (n <= 0) continue;
    const std::int64_t arrival = Esc::monotonic_ns();
    if (echo || process(frame, static_cast<std::size_t>(n), arrival)) send(socket_, frame, static_cast<std::size_t>(n), 0);
    const double us = (Esc::monotonic_ns() - arrival) / 1e3;
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.max_process_us = std::max(stats_.max_process_us, us);
  }
}

// ------------------------------------------------------------------------------ control
SlaveLine::Stats SlaveLine::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Stats s = stats_;
  s.al_states.clear();
  for (const auto& e : slaves_) s.al_states.push_back(e->al_state());
  return s;
}

void SlaveLine::drive_fault(int slave, std::uint16_t code, bool persistent) {
  std::lock_guard<std::mutex> lock(mutex_);
  slaves_[index(slave)]->drive().inject_fault(code, persistent);
}

void SlaveLine::clear_fault_cause(int slave) {
  std::lock_guard<std::mutex> lock(mutex_);
  slaves_[index(slave)]->drive().clear_fault_cause();
}

void SlaveLine::freeze_encoder(int slave, bool frozen) {
  std::lock_guard<std::mutex> lock(mutex_);
  slaves_[index(slave)]->drive().freeze_encoder(frozen);
}

void SlaveLine::drop_frames(int count) {
  if (count < 0) throw std::invalid_argument("count must be >= 0");
  std::lock_guard<std::mutex> lock(mutex_);
  drop_next_ = count;
}

void SlaveLine::skip_process_data(int slave, int count) {
  if (count < 0) throw std::invalid_argument("count must be >= 0");
  std::lock_guard<std::mutex> lock(mutex_);
  skip_pd_[index(slave)] = count;
}

SlaveLine::DriveInfo SlaveLine::drive(int slave) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const Esc& e = *slaves_[index(slave)];
  const VirtualDrive& d = e.drive();
  return DriveInfo{d.state(), d.q(), d.dq(), d.tau(), e.al_state(), d.last_controlword(),
                   static_cast<int>(d.object(0x6060, 0)), static_cast<int>(d.object(0x1C12, 1)), d.fault_code()};
}

Esc::DcStatus SlaveLine::dc(int slave) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return slaves_[index(slave)]->dc_status();
}

}  // namespace humanoid_rt::ethercat_virtual
