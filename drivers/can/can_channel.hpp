// Frame records on a CAN channel: a SocketCAN raw socket, or one end of an AF_UNIX
// SOCK_SEQPACKET socketpair carrying the same `struct can_frame` / `canfd_frame` records (the
// virtual devices' channels). One implementation for every user of a channel: the MIT-family
// CanBus, the CANopen Cia402Bus and the virtual motors' responder.
//
// No allocation, no locks, no logging: safe on the RT thread.
#pragma once

#include "can/can_codecs.hpp"

namespace humanoid_rt::can {

long long monotonic_ns();  // CLOCK_MONOTONIC

// Sends `frame` without blocking as one can_frame record, or a canfd_frame record when
// `fd_frames` (with the bit-rate-switch flag when `bit_rate_switch`). True when it went out whole.
bool send_frame(int fd, const Frame& frame, bool fd_frames, bool bit_rate_switch);

enum class Received : std::uint8_t {
  kNone = 0,     // nothing queued (or the other end is closed)
  kFrame = 1,    // a data frame, in `out`
  kInvalid = 2,  // a record of the wrong size or length, or a remote / error frame: dropped
};
// Takes one queued record without blocking.
Received receive_frame(int fd, Frame& out);

// Sleeps in the kernel until `fd` is readable or CLOCK_MONOTONIC reaches `deadline_ns` (no busy
// wait). False when the deadline passed first; true when readable or interrupted by a signal.
bool wait_readable(int fd, long long deadline_ns);

}  // namespace humanoid_rt::can
