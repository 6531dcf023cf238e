// The CoE side of the virtual CiA 402 servo drive behind each emulated EtherCAT slave (esc.hpp):
// object dictionary subset and PDO layouts, as documented in firmware_interfaces/ethercat/README.md
// (hrt_cia402_drive.xml is the same in ESI form), around the one virtual drive
// (drivers/cia402/virtual_drive.hpp: state machine, quick stop per 0x605A, the load).
//
// Units on the wire: position in encoder counts, velocity in counts/s, torque in per mille of
// the rated torque (0x6076, mNm). The load is an ideal axis in CSP / CSV and a rigid inertia with
// viscous friction in CST, stepped once per process-data frame with the configured cycle period,
// so a stepped master sees exactly the same trajectory every run.
//
// Not thread-safe: one VirtualDrive belongs to one Esc of one SlaveLine, whose mutex serialises
// every call (every field below is owned by whichever thread holds that mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cia402/cia402.hpp"
#include "cia402/virtual_drive.hpp"

namespace humanoid_rt::ethercat_virtual {

struct DriveParams {
  std::uint32_t vendor_id = 0x00000E7A;     // an arbitrary test vendor id, documented in firmware_interfaces
  std::uint32_t product_code = 0x04020001;
  std::uint32_t rated_torque_mnm = 50000;   // 50 Nm motor-side rated torque
  std::uint32_t counts_per_rev = 1u << 20;  // 20-bit encoder
  double inertia_kgm2 = 0.05;               // motor side
  double viscous_nm_s_rad = 0.05;
};

// One mapped object of a PDO; index 0 is padding.
struct PdoEntry {
  std::uint16_t index;
  std::uint8_t sub;
  std::uint8_t bits;
};
struct Pdo {
  std::uint16_t index;
  std::vector<PdoEntry> entries;
};
// RxPDOs 0x1600 (CSP), 0x1601 (CSV), 0x1602 (CST); TxPDO 0x1A00.
const std::vector<Pdo>& rx_pdos();
const std::vector<Pdo>& tx_pdos();
std::size_t pdo_bytes(const Pdo* pdo);  // 0 for none

// SDO abort codes (CiA 301) the drive answers with.
inline constexpr std::uint32_t kAbortUnsupported = 0x06010000;
inline constexpr std::uint32_t kAbortReadOnly = 0x06010002;
inline constexpr std::uint32_t kAbortNoObject = 0x06020000;
inline constexpr std::uint32_t kAbortLength = 0x06070010;
inline constexpr std::uint32_t kAbortNoSubindex = 0x06090011;
inline constexpr std::uint32_t kAbortValueRange = 0x06090030;
inline constexpr std::uint32_t kAbortState = 0x08000022;

inline constexpr std::uint8_t kAlPreop = 2;  // AL state PRE-OP (PDO assignment is allowed only there)

class VirtualDrive {
 public:
  VirtualDrive(const DriveParams& params, double period_s);

  // Mailbox side. Returns 0 or an SDO abort code.
  std::uint32_t sdo_read(std::uint16_t index, std::uint8_t sub, std::vector<std::uint8_t>& value) const;
  std::uint32_t sdo_write(std::uint16_t index, std::uint8_t sub, const std::uint8_t* data, std::size_t size,
                          std::uint8_t al_state);

  // Process data: the PDOs assigned (0x1C12 / 0x1C13), or nullptr when the assignment is empty.
  const Pdo* rx_pdo() const;
  const Pdo* tx_pdo() const;
  // One cycle: apply `outputs` (in OP only; nullptr when SM2 is off), step the load, write the
  // inputs to `inputs` (pdo_bytes(tx_pdo()) bytes).
  void exchange(const std::uint8_t* outputs, bool operational, std::uint8_t* inputs);

  // Fault injection.
  void inject_fault(std::uint16_t code, bool persistent) { drive_.raise_fault(code, persistent); }
  void clear_fault_cause() { drive_.clear_fault_cause(); }
  void freeze_encoder(bool frozen);

  // Inspection.
  cia402::State state() const { return drive_.state(); }
  double q() const { return drive_.q(); }
  double dq() const { return drive_.dq(); }
  double tau() const { return drive_.tau(); }
  std::uint16_t last_controlword() const { return drive_.last_controlword(); }
  std::uint16_t fault_code() const { return drive_.fault_code(); }
  std::int64_t object(std::uint16_t index, std::uint8_t sub) const;  // integer objects only

 private:
  enum class Type : std::uint8_t { kU8, kI8, kU16, kI16, kU32, kI32, kString };
  struct Object {
    Type type;
    bool writable;
    std::int64_t value;
  };
  static std::uint32_t key(std::uint16_t index, std::uint8_t sub) { return (std::uint32_t{index} << 8) | sub; }
  static std::size_t size_of(Type t);
  Object& at(std::uint16_t index, std::uint8_t sub) { return od_.at(key(index, sub)); }
  const Object& at(std::uint16_t index, std::uint8_t sub) const { return od_.at(key(index, sub)); }
  double counts_per_rad() const;

  const DriveParams params_;
  const double period_s_;
  std::map<std::uint32_t, Object> od_;  // (index << 8 | sub) -> object; fixed set, values change
  cia402::VirtualDrive drive_;  // state machine, faults and load
  bool frozen_ = false;
  std::int32_t frozen_counts_ = 0;
};

}  // namespace humanoid_rt::ethercat_virtual
