// An emulated EtherCAT slave controller (ESC): register/process RAM, SII EEPROM, AL state
// machine, sync managers, FMMUs, the CoE mailbox and distributed-clock registers, in front of a
// virtual CiA 402 drive (virtual_drive.hpp).
//
// Register addresses and meanings follow ETG.1000.4 / ETG.1000.6 (the ESC register map every
// master relies on); what a master needs to bring a slave to OP, exchange process data and run
// distributed clocks is modelled:
//   0x0000-0x0008  type, FMMU/SM counts, RAM, ports, features (0x0008: DC + 64-bit DC)
//   0x0010         configured station address        0x0110  DL status (line topology)
//   0x0120/0x0130  AL control / status (+0x0134 AL status code)
//   0x0500-0x050F  SII EEPROM interface (8-byte reads)
//   0x0600-0x06FF  FMMUs                              0x0800-0x087F  sync managers
//   0x0900-0x090F  DC receive times of ports 0-3, latched by any write to 0x0900
//   0x0910         DC system time (read: local time + offset; a write is a drift-compensation
//                  sample: its difference to our system time lands in 0x092C)
//   0x0918         DC receive time of the processing unit (64 bit, latched with 0x0900)
//   0x0920/0x0928  system time offset / delay        0x0981  SYNC0/1 activation
//   0x0990         SYNC0 start time (read: next SYNC0 pulse while active)
//   0x09A0/0x09A4  SYNC0 / SYNC1 cycle time
// Local time is CLOCK_MONOTONIC plus a per-slave power-on offset, so slaves' clocks disagree as
// real ones do until the master sets their offsets. The frame is taken to pass each slave
// kHopNs after the previous one (forwarding delay of an ESC plus cable), so the port receive
// times give SOEM a line topology and a plausible propagation delay.
// Not modelled: SM watchdog, EEPROM writes, EoE/FoE/SoE, complete access, SYNC0 interrupts
// (the drive is stepped by process data, so stepped masters stay deterministic; SYNC0 is a
// register-level state the test and the stats can read).
//
// Not thread-safe: every call comes from the owning SlaveLine under its mutex (so every field
// below is owned by whichever thread holds that mutex: the frame thread or a control call).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ethercat/virtual_slave/virtual_drive.hpp"

namespace humanoid_rt::ethercat_virtual {

// Datagram commands (ETG.1000.4).
enum Command : std::uint8_t {
  kNop = 0, kAprd, kApwr, kAprw, kFprd, kFpwr, kFprw, kBrd, kBwr, kBrw, kLrd, kLwr, kLrw, kArmw, kFrmw,
};

// AL states.
inline constexpr std::uint8_t kAlInit = 1, kAlBoot = 3, kAlSafeop = 4, kAlOp = 8;

inline constexpr std::int64_t kHopNs = 500;  // frame forwarding delay from one slave to the next

class Esc {
 public:
  Esc(int position, int line_length, const DriveParams& params, double period_s);

  // Datagram access at physical address `ado` (with the register side effects).
  void read(std::uint16_t ado, std::uint8_t* dst, std::size_t n);
  void write(std::uint16_t ado, const std::uint8_t* src, std::size_t n);
  // Logical addressing: this ESC's FMMUs applied to a datagram at logical `address` of `n`
  // bytes held in `data`. Returns the working-counter increment.
  int logical(std::uint8_t command, std::uint32_t address, std::uint8_t* data, std::size_t n);
  // After a frame with process data: hand the outputs to the drive and refresh the inputs.
  void process_data();
  // The frame that is being processed entered the line at `frame_arrival_ns` (CLOCK_MONOTONIC).
  void set_frame_arrival(std::int64_t frame_arrival_ns) { frame_arrival_ns_ = frame_arrival_ns; }

  std::uint16_t station_address() const { return get16(0x0010); }
  std::uint8_t al_state() const { return al_state_; }
  VirtualDrive& drive() { return drive_; }
  const VirtualDrive& drive() const { return drive_; }

  // Distributed clocks as the registers say (for tests and stats).
  struct DcStatus {
    bool sync0_active;           // 0x0981 bits 0 (cyclic operation) and 1 (SYNC0)
    std::uint32_t cycle_ns;      // 0x09A0
    std::int64_t start_ns;       // 0x0990 as written (system time)
    std::int64_t system_time_ns; // now
    std::int64_t offset_ns;      // 0x0920
    std::uint32_t delay_ns;      // 0x0928
    std::uint64_t sync0_pulses;  // SYNC0 events since the start time
  };
  DcStatus dc_status() const;

  static std::int64_t monotonic_ns();

 private:
  std::uint16_t get16(std::uint16_t a) const { return static_cast<std::uint16_t>(mem_[a] | (mem_[a + 1] << 8)); }
  void put16(std::uint16_t a, std::uint16_t v);
  std::uint64_t get64(std::uint16_t a) const;
  void put32(std::uint16_t a, std::uint32_t v);
  void put64(std::uint16_t a, std::uint64_t v);
  struct Sm {
    std::uint16_t start, length;
  };
  bool sm(int n, Sm& out) const;  // an active sync manager
  void set_al();
  void al_control(std::uint16_t control);
  void al_fail(std::uint16_t code);
  void eeprom_command();
  void load_fmmus();
  void mailbox();
  void reply(const std::vector<std::uint8_t>& message);
  std::int64_t local_ns(std::int64_t monotonic) const { return monotonic + power_on_offset_ns_; }
  std::int64_t system_ns(std::int64_t monotonic) const;
  void latch_receive_times();

  const int position_;          // 0-based place on the line
  const int line_length_;
  const std::int64_t power_on_offset_ns_;
  std::array<std::uint8_t, 0x2000> mem_{};  // registers and process RAM
  std::vector<std::uint8_t> sii_;           // EEPROM image (words, little endian)
  VirtualDrive drive_;
  std::uint8_t al_state_ = kAlInit;
  bool al_error_ = false;
  std::uint16_t al_code_ = 0;
  struct Fmmu {
    std::uint32_t logical;
    std::uint16_t length;
    std::uint16_t physical;
    std::uint8_t type;  // bit 0 read (inputs), bit 1 write (outputs)
  };
  std::vector<Fmmu> fmmus_;            // active FMMUs, reloaded when 0x0600-0x06FF is written
  std::int64_t frame_arrival_ns_ = 0;  // of the frame being processed
  std::int64_t sync0_start_written_ = 0;  // 0x0990 as the master wrote it (the register reads back the next pulse)
};

}  // namespace humanoid_rt::ethercat_virtual
