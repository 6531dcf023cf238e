// A line of emulated EtherCAT slaves (esc.hpp) on one network interface: the virtual CiA 402
// drives that tests, `humanoid-rt demo --bus ethercat-virtual` and bench/run_ethercat.py put
// behind a veth pair in a network namespace (src/humanoid_rt/ethercat/netns.py starts the
// process, emulator.py is its JSON-lines control channel).
//
// Every frame is processed by every slave in ring order, as on a real line: auto-increment,
// configured-address, broadcast and logical addressing, the read-multiple-write commands
// (ARMW/FRMW, used for the DC reference clock) and the working counter; then the frame goes back,
// as the last slave closes the ring and port 0 of the first slave returns it.
//
// Threads: start() runs a frame thread on a raw AF_PACKET socket (EtherType 0x88A4) that sleeps
// in poll() until a frame comes (100 ms timeout only to notice stop(); no busy spin), processes
// it and sends it back. The thread can run SCHED_FIFO (we are root in the namespace): a real ESC
// answers in hardware, and a software one must not queue behind a compiler on a loaded CI
// machine. Control calls (fault injection, inspection) come from another thread; one mutex
// serialises them with frame processing. It is held for one frame's processing (a few
// microseconds for 12 slaves) or one control call, never across I/O.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ethercat/virtual_slave/esc.hpp"

namespace humanoid_rt::ethercat_virtual {

class SlaveLine {
 public:
  SlaveLine(const std::vector<DriveParams>& params, double period_s);
  ~SlaveLine();
  SlaveLine(const SlaveLine&) = delete;
  SlaveLine& operator=(const SlaveLine&) = delete;

  // One Ethernet frame, processed in place (any thread). Returns false when the frame is lost
  // (not an EtherCAT frame, truncated, or dropped by fault injection).
  bool process(std::uint8_t* frame, std::size_t length, std::int64_t arrival_ns);

  // Serve the line on `interface` (opens the socket, starts the frame thread). priority > 0:
  // SCHED_FIFO at that priority, if allowed (stats().priority says what the thread got).
  // echo: send every frame straight back unprocessed (the raw-link reference of the benchmark).
  // Throws std::runtime_error naming the interface when the socket cannot be opened.
  void start(const std::string& interface, int priority, bool echo);
  void stop();

  struct Stats {
    std::uint64_t frames = 0;
    std::uint64_t process_data_frames = 0;
    std::uint64_t dropped_frames = 0;
    double max_process_us = 0.0;  // longest frame processing (receive to send)
    int priority = 0;             // the frame thread's SCHED_FIFO priority (0: SCHED_OTHER)
    std::vector<int> al_states;
  };
  Stats stats() const;

  struct DriveInfo {
    cia402::State state;
    double q, dq, tau;
    int al_state;
    std::uint16_t controlword;
    int mode;
    int rxpdo;
    std::uint16_t fault_code;
  };

  // Control (any thread). `slave` is 1-based; std::out_of_range names the allowed range.
  void drive_fault(int slave, std::uint16_t code, bool persistent);
  void clear_fault_cause(int slave);
  void freeze_encoder(int slave, bool frozen);
  void drop_frames(int count);                   // the next `count` process-data frames get no answer
  void skip_process_data(int slave, int count);  // the slave ignores `count` process-data datagrams (WKC short)
  DriveInfo drive(int slave) const;
  Esc::DcStatus dc(int slave) const;
  int size() const { return static_cast<int>(slaves_.size()); }

 private:
  int datagram(std::uint8_t command, std::uint32_t address, std::uint8_t* data, std::size_t length, int wkc,
               std::uint8_t* adp_field);
  std::size_t index(int slave) const;  // 1-based -> 0-based, range-checked
  void serve(bool echo);               // the frame thread

  mutable std::mutex mutex_;
  // Guarded by mutex_ (frame thread or a control call).
  std::vector<std::unique_ptr<Esc>> slaves_;  // ring order; fixed size after construction
  std::vector<int> skip_pd_;                  // per slave: process-data datagrams still to ignore
  int drop_next_ = 0;
  Stats stats_;
  // Owned by the thread that calls start()/stop(); the frame thread only reads socket_.
  int socket_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};  // set by stop(), read by the frame thread
};

}  // namespace humanoid_rt::ethercat_virtual
