// CANopen CiA 402 drives on a CAN channel, driven from the RT loop with SYNC inside the cycle.
//
// Configuration (mode of operation, PDO mappings, NMT start) happens before the loop, over SDO,
// from Python with the `canopen` package (src/humanoid_rt/can/cia402.py); this bus then owns the
// channel and only exchanges process data. The PDO layout it expects (firmware_interfaces/can/
// cia402.md and cia402_servo.eds):
//   RPDO1 0x200+node  controlword 0x6040 (u16) + target per mode: CSP 0x607A position (i32 counts),
//                     CSV 0x60FF velocity (i32 counts/s), CST 0x6071 torque (i16 per mille of 0x6076)
//   TPDO1 0x180+node  statusword 0x6041 (u16) + position actual 0x6064 (i32) + torque actual 0x6077 (i16)
//   TPDO2 0x280+node  velocity actual 0x606C (i32) + error code 0x603F (u16)
//   SYNC  0x080       sent once per cycle after the RPDOs; TPDOs are synchronous (type 1)
//   EMCY  0x080+node  error code (u16) + error register (u8) + 5 manufacturer bytes
// All little-endian, classic 8-byte frames (also sent as CAN-FD frames when the bus is FD).
//
// One cycle:  write() sends every RPDO1, then SYNC; read() (next cycle) collects TPDO1 + TPDO2 of
// every drive (and any EMCY) until all are in or the deadline passes, exactly like CanBus.
//
// The power state machine runs per drive in write(): cia402::next_controlword() (drivers/cia402/
// cia402.hpp, shared with EtherCAT) from the decoded statusword, the loop's torque_enabled flag and
// the stop category (torque off: 0 Disable voltage 0x00, 1 / 2 Quick stop 0x02 from Operation
// enabled; 0x605A is set to match over SDO at configuration). A requested fault reset
// (request_fault_reset(), any non-RT thread) sends 0x00 one cycle, 0x80 the next (bit 7 rising
// edge), repeated while the drive stays in Fault.
// A drive in Fault / Fault reaction active reports drive_error = its EMCY / 0x603F code (0xFF00 when
// it sent none); a drive that does not reach Operation enabled within enable_timeout_cycles of
// torque being requested reports 0xFF01. Either makes the supervisor FAULT.
//
// read()/write() allocate nothing, take no locks, log nothing.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "humanoid_rt/bus.hpp"
#include "can/can_codecs.hpp"
#include "cia402/cia402.hpp"

namespace humanoid_rt::can {

// ---- pure CiA 402 codecs ------------------------------------------------------------------
using Cia402State = cia402::State;  // the shared CiA 402 definitions (drivers/cia402/cia402.hpp)
using Cia402Mode = cia402::Mode;
using cia402::decode_statusword;

inline constexpr std::uint16_t kErrorNoCode = 0xFF00, kErrorEnableTimeout = 0xFF01;


// ---- the bus --------------------------------------------------------------------------------
struct Cia402Device {
  int joint = -1;                 // robot joint index
  std::uint8_t node_id = 1;       // 1..127
  Cia402Mode mode = Cia402Mode::kCst;
  double counts_per_rad = 10000.0;
  double rated_torque_nm = 1.0;   // 0x6076 (in mNm on the wire); 0x6071/0x6077 are per mille of it
};

struct Cia402BusOptions {
  bool fd = false;                        // channel records are canfd_frame
  double reply_timeout_s = 0.0;           // real time; 0 = 25 % of the period
  double stepped_reply_timeout_s = 0.05;  // stepped mode
  int stop_category = 0;                  // torque off per cia402::stop_reaction(): 0 disable voltage, 1/2 quick stop
  int enable_timeout_cycles = 200;        // torque on but not Operation enabled after this: error 0xFF01
};

struct Cia402BusStatistics {
  std::uint64_t cycles = 0, frames_sent = 0, frames_received = 0, replies = 0, missed_replies = 0,
                rejected = 0, emergencies = 0, send_errors = 0, max_wait_ns = 0;
};

class Cia402Bus final : public Bus {
 public:
  static constexpr int kMaxDevices = 64;

  Cia402Bus(std::string name, int fd, const Cia402BusOptions& options);  // takes ownership of fd
  ~Cia402Bus() override;
  Cia402Bus(const Cia402Bus&) = delete;
  Cia402Bus& operator=(const Cia402Bus&) = delete;

  void add_device(const Cia402Device& device);  // configuration time
  void set_realtime(bool realtime) override { realtime_.store(realtime); }
  void request_fault_reset() override { fault_reset_requested_.store(true); }  // any non-RT thread

  const std::string& name() const override { return name_; }
  void configure(const std::vector<int>& joint_indices, double period_s) override;
  void activate() override;
  BusStatus read(double t, JointState& motor_state) override;
  BusStatus write(double t, const JointCommand& motor_command) override;
  void deactivate() override;

  // Any thread.
  Cia402BusStatistics statistics() const;
  BusCounters counters() const override {
    const Cia402BusStatistics s = statistics();
    return {s.cycles, s.frames_sent, s.frames_received, s.missed_replies, s.rejected, s.send_errors};
  }
  Cia402State state(int joint) const;           // last decoded state of a joint's drive
  std::uint16_t statusword(int joint) const;
  std::uint16_t controlword(int joint) const;   // last sent
  bool fault_reset_pending() const override { return fault_reset_requested_.load(); }

 private:
  struct Slot {                       // configuration time, then RT-owned (atomics: any thread reads)
    Cia402Device device;
    bool awaiting = false;            // RT: TPDOs of this cycle's SYNC are due
    bool got_tpdo1 = false, got_tpdo2 = false;  // RT
    std::int32_t position = 0, velocity = 0;    // RT: counts, counts/s
    std::int16_t torque = 0;                    // RT: per mille
    std::uint16_t error_code = 0;               // RT: 0x603F or EMCY code
    int not_enabled_cycles = 0;                 // RT
    bool reset_phase = false;                   // RT
    std::atomic<std::uint16_t> statusword{0};   // RT writes, any thread reads
    std::atomic<std::uint16_t> controlword{0};  // RT writes, any thread reads
  };

  bool send(std::uint32_t id, const std::uint8_t* data, std::uint8_t len);  // RT-safe
  void receive_until(long long deadline_ns);                                // RT-safe
  void handle(std::uint32_t id, const std::uint8_t* data, std::uint8_t len);  // RT-safe
  bool all_answered() const;
  void disable_and_sync();  // non-RT: disable voltage to every drive, then SYNC

  const std::string name_;
  const Cia402BusOptions options_;
  int fd_ = -1;                                 // owned; loop thread I/O once configured
  std::vector<Cia402Device> devices_;           // configuration time
  std::unique_ptr<Slot[]> slots_;               // sized in configure(); RT-owned afterwards
  int n_slots_ = 0;                             // configuration time
  long long realtime_timeout_ns_ = 0, stepped_timeout_ns_ = 0;  // configuration time
  std::atomic<bool> realtime_{false};           // non-RT writes while stopped, RT reads
  std::atomic<bool> fault_reset_requested_{false};  // non-RT sets, RT clears
  bool configured_ = false;
  struct Counters {                             // loop thread writes (relaxed), any thread reads
    std::atomic<std::uint64_t> cycles{0}, frames_sent{0}, frames_received{0}, replies{0}, missed_replies{0},
        rejected{0}, emergencies{0}, send_errors{0}, max_wait_ns{0};
  } counters_;
};

}  // namespace humanoid_rt::can
