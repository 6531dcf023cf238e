// EtherCAT CiA 402 drives through SOEM (the Simple Open EtherCAT Master, vendored in
// third_party/soem): one Bus per network interface, one drive (slave) per joint.
//
// Bring-up, in configure() (non-RT), each failure an exception naming the slave and the step:
//   open    raw socket on the interface (root or CAP_NET_RAW)
//   scan    ecx_config_init: count the slaves, read their SII identity; compare with the
//           expected list (position, vendor id, product code)
//   preop   CoE SDO: modes of operation 0x6060, RxPDO assignment 0x1C12 for that mode
//           (CSP 0x1600, CSV 0x1601, CST 0x1602), quick stop option 0x605A from the stop
//           category; read rated torque 0x6076 and encoder resolution 0x608F
//   map     ecx_config_map_group: PDO mapping read back over CoE, SM2/SM3 and FMMUs
//           programmed; checked against the sizes in firmware_interfaces/ethercat
//   safeop  SAFE-OP reached (AL status code reported otherwise)
//   dc      distributed clocks with SYNC0 at the loop period, for slaves that support DC
//   op      OP requested while process data flows; every slave must reach it
//
// In the loop, one frame per cycle: write() packs the outputs, sends the frame and waits
// (bounded by receive_timeout_us, with poll()) for it to come back; read() of the next cycle
// decodes the inputs of that frame and never blocks. Waiting in write() makes stepped mode
// deterministic (the reply to cycle k is in hand before cycle k+1) and measures the true
// frame round trip. A frame that does not return in time is a lost frame (joints not
// fresh); a frame that returns with the wrong working counter is a WKC error (joints not
// fresh); more than `wkc_tolerance` such cycles in a row make read() return kError, which
// the supervisor turns into FAULT (bus_error).
//
// RT discipline: read()/write() allocate nothing and log nothing. SOEM's frame send and
// receive take SOEM's internal per-port pthread mutexes; in OP only the loop thread touches
// the port (no mailbox traffic while running), so they are uncontended.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cia402/cia402.hpp"
#include "humanoid_rt/bus.hpp"
#include "humanoid_rt/latency_histogram.hpp"

namespace humanoid_rt {

struct EthercatSlaveSpec {
  int position = 1;                 // 1-based place on the line
  std::uint32_t vendor_id = 0;
  std::uint32_t product_code = 0;
};

struct EthercatBusOptions {
  std::string interface;
  std::vector<EthercatSlaveSpec> slaves;  // the expected line, in order
  int receive_timeout_us = 800;     // how long write() waits for its frame
  int frame_timeout_us = 2000;      // bring-up datagrams (SOEM's EC_TIMEOUTRET; process-wide, see soem_config.h)
  int wkc_tolerance = 3;            // consecutive bad cycles (wrong WKC or lost frame) tolerated
  bool distributed_clocks = true;   // use DC where the slaves support it
  int stop_category = 0;            // supervisor's e-stop category -> quick stop option code 0x605A
  double state_timeout_s = 3.0;     // per AL state change during bring-up
};

struct EthercatStatistics {
  std::uint64_t cycles = 0;
  std::uint64_t frames_sent = 0;
  std::uint64_t lost_frames = 0;
  std::uint64_t wkc_errors = 0;
  std::uint64_t bus_faults = 0;       // read() calls that returned kError
  int expected_wkc = 0;
  int last_wkc = 0;
  int dc_slaves = 0;                  // slaves with distributed clocks and SYNC0 on (0: no DC)
  std::int64_t dc_time_ns = 0;        // the DC reference clock's system time, from the last frame
};

class EthercatBus final : public Bus {
 public:
  EthercatBus(std::string name, EthercatBusOptions options);
  ~EthercatBus() override;

  // Configuration time (before configure()): joint -> slave position and its mode.
  void add_drive(int joint, int slave_position, cia402::Mode mode);

  // Bus interface.
  const std::string& name() const override { return name_; }
  void configure(const std::vector<int>& joint_indices, double period_s) override;
  void activate() override;
  BusStatus read(double t, JointState& motor_state) override;
  BusStatus write(double t, const JointCommand& motor_command) override;
  void deactivate() override;

  // Any non-RT thread.
  // Pulses bit 7 to every drive in FAULT. Deliberately not Bus::request_fault_reset(): robot.reset()
  // leaves EtherCAT drives alone and a drive reset is asked for explicitly (tests/test_ethercat_bus.py
  // counts the cycles of that sequence); one CiA 402 reset path for every bus is the protocols work.
  void fault_reset() { fault_reset_request_.store(true); }
  EthercatStatistics statistics() const;
  // A frame is sent and received per cycle; a lost frame misses every reply, a wrong WKC rejects the frame.
  BusCounters counters() const override {
    const EthercatStatistics s = statistics();
    return {s.cycles, s.frames_sent, s.frames_sent - s.lost_frames, s.lost_frames, s.wkc_errors, 0};
  }
  const LatencyHistogram& round_trip() const { return round_trip_; }
  void reset_statistics();  // only while the loop is stopped
  std::string describe() const;  // the slaves found at bring-up (non-RT, after configure)
  // Per-joint CiA 402 state and the drive's error code, as last received (any thread; torn reads are harmless).
  int drive_state(int joint) const;
  std::uint16_t drive_error_code(int joint) const;
  double rated_torque_nm(int joint) const;
  double counts_per_rad(int joint) const;

 private:
  struct Soem;  // SOEM's context and its arrays (large, allocated once in the constructor)
  struct Drive {
    int joint = -1;
    int slave = 0;                  // 1-based SOEM slave index
    cia402::Mode mode = cia402::Mode::kCst;
    cia402::Units units;
    std::uint8_t* out = nullptr;    // into the IO map
    const std::uint8_t* in = nullptr;
    // Loop thread only.
    std::uint16_t controlword = 0;
    bool reset_pulse = false;
    // Written by the loop thread, read by anyone (relaxed atomics).
    std::atomic<std::uint16_t> statusword{0};
    std::atomic<std::uint16_t> error_code{0};
  };

  [[noreturn]] void fail(const std::string& step, int slave, const std::string& what) const;
  void configure_slave_sdo(const Drive& d);
  void request_state(std::uint16_t state, const std::string& step);
  int exchange_once(int timeout_us);  // send + bounded wait; returns the WKC (or -1: no frame)

  const std::string name_;
  const EthercatBusOptions options_;
  std::unique_ptr<Soem> soem_;                   // configuration thread, then the loop thread
  std::vector<std::unique_ptr<Drive>> drives_;   // sized at configuration time; contents as marked in Drive
  double period_s_ = 0.001;                      // configuration time
  int expected_wkc_ = 0;                         // configuration time, then RT read-only
  int dc_slaves_ = 0;                            // configuration time
  bool operational_ = false;                     // configuration thread (set/cleared while the loop is stopped)

  // Loop thread only.
  int last_wkc_ = 0;
  bool have_frame_ = false;                      // the last write() got its frame back with the right WKC
  int bad_cycles_ = 0;                           // consecutive lost-frame / wrong-WKC cycles

  // Written by the loop thread, read by any thread.
  std::atomic<std::uint64_t> cycles_{0}, frames_sent_{0}, lost_frames_{0}, wkc_errors_{0}, bus_faults_{0};
  std::atomic<int> last_wkc_shared_{0};
  std::atomic<std::int64_t> dc_time_ns_{0};
  LatencyHistogram round_trip_;                  // written by the loop thread
  std::atomic<bool> fault_reset_request_{false}; // any thread sets, loop thread clears
};

}  // namespace humanoid_rt
