#include "can/can_channel.hpp"

#include <linux/can.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <cstring>

namespace humanoid_rt::can {

long long monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

bool send_frame(int fd, const Frame& frame, bool fd_frames, bool bit_rate_switch) {
  canfd_frame raw;
  std::memset(&raw, 0, sizeof(raw));
  raw.can_id = frame.id | (frame.extended ? CAN_EFF_FLAG : 0u);
  raw.len = frame.len;
  std::memcpy(raw.data, frame.data, frame.len);
  std::size_t size = CAN_MTU;
  if (fd_frames) {
    raw.flags = bit_rate_switch ? CANFD_BRS : 0;
    size = CANFD_MTU;
  }
  return ::send(fd, &raw, size, MSG_DONTWAIT | MSG_NOSIGNAL) == static_cast<ssize_t>(size);
}

Received receive_frame(int fd, Frame& out) {
  canfd_frame raw;
  const ssize_t n = ::recv(fd, &raw, sizeof(raw), MSG_DONTWAIT);
  if (n <= 0) return Received::kNone;
  if (n != static_cast<ssize_t>(CAN_MTU) && n != static_cast<ssize_t>(CANFD_MTU)) return Received::kInvalid;
  const std::uint8_t max_len = n == static_cast<ssize_t>(CAN_MTU) ? CAN_MAX_DLEN : CANFD_MAX_DLEN;
  if (raw.len > max_len || (raw.can_id & (CAN_RTR_FLAG | CAN_ERR_FLAG))) return Received::kInvalid;
  out.extended = (raw.can_id & CAN_EFF_FLAG) != 0;
  out.id = raw.can_id & (out.extended ? CAN_EFF_MASK : CAN_SFF_MASK);
  out.len = raw.len;
  std::memcpy(out.data, raw.data, raw.len);
  return Received::kFrame;
}

bool wait_readable(int fd, long long deadline_ns) {
  const long long left = deadline_ns - monotonic_ns();
  if (left <= 0) return false;
  pollfd pfd{fd, POLLIN, 0};
  const timespec ts{static_cast<time_t>(left / 1000000000LL), static_cast<long>(left % 1000000000LL)};
  return ::ppoll(&pfd, 1, &ts, nullptr) != 0;  // interrupted (-1, EINTR): the caller looks again
}

}  // namespace humanoid_rt::can
