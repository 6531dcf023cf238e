// Mailbox: the latest value of T from any number of non-RT writers to the loop thread.
//
// Every producer-to-loop hand-over of the control loop (setpoint, gains, tasks, watchdog refresh,
// device IMU sample) is the same three steps: serialise the writers, stamp the next sequence
// number into the value (the loop compares sequences to tell a new value from one it has already
// applied), hand the value over through a TripleBuffer. Mailbox is those three steps, once.
//
//   writers    post(value) or post(edit): under the writers' mutex, which the loop thread never
//              takes. The mailbox keeps the last posted value, so an edit can change one field (a
//              task slot, a flag) of what was posted before without overwriting the rest.
//   loop       take_if_new(out) / take(out): wait-free (one atomic exchange, one copy when new).
//
// T is trivially copyable and has a `std::uint64_t sequence` field, which post() owns: sequences
// start at 1 and increase by one per post, so 0 means "nothing posted yet".
#pragma once

#include <cstdint>
#include <mutex>
#include <type_traits>

#include "humanoid_rt/triple_buffer.hpp"

namespace humanoid_rt {

template <typename T>
class Mailbox {
  static_assert(std::is_trivially_copyable_v<T>, "Mailbox values are handed over by copy");
  static_assert(std::is_same_v<decltype(T::sequence), std::uint64_t>, "Mailbox stamps T::sequence");

 public:
  // Any non-RT thread: edit(T&) changes the last posted value in place, then it is stamped and
  // handed over. Returns its sequence. edit runs under the writers' mutex: keep it short, no I/O.
  template <typename Edit>
  std::uint64_t post_edit(Edit&& edit) {
    std::lock_guard<std::mutex> lock(writers_mutex_);
    edit(last_posted_);
    last_posted_.sequence = ++sequence_;
    buffer_.write(last_posted_);
    return last_posted_.sequence;
  }

  // Any non-RT thread: replaces the whole value (its sequence field is overwritten).
  std::uint64_t post(const T& value) {
    return post_edit([&value](T& slot) { slot = value; });
  }

  // Loop thread only (the one consumer): copies into `out` only when a value newer than the last
  // take arrived, and returns true then; otherwise `out` keeps what it held.
  bool take_if_new(T& out) { return buffer_.read_if_new(out); }

 private:
  std::mutex writers_mutex_;     // serialises the writers; never taken by the loop thread
  T last_posted_{};              // under writers_mutex_: the value as last posted (edits start from it)
  std::uint64_t sequence_ = 0;   // under writers_mutex_
  TripleBuffer<T> buffer_;       // writers (one at a time, under writers_mutex_) -> loop thread
};

}  // namespace humanoid_rt
