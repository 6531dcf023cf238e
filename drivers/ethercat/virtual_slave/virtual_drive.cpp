#include "ethercat/virtual_slave/virtual_drive.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace humanoid_rt::ethercat_virtual {

namespace {

constexpr std::uint8_t kModeCsp = 8, kModeCsv = 9, kModeCst = 10;
constexpr std::uint16_t kSwVoltageEnabled = 0x0010, kSwRemote = 0x0200;
constexpr const char* kDeviceName = "hrt virtual CiA402 drive";

std::int64_t clamp64(std::int64_t v, std::int64_t lo, std::int64_t hi) { return std::min(hi, std::max(lo, v)); }

}  // namespace

const std::vector<Pdo>& rx_pdos() {
  static const std::vector<Pdo> pdos = {
      {0x1600, {{0x6040, 0, 16}, {0x607A, 0, 32}, {0x60B1, 0, 32}, {0x60B2, 0, 16}, {0x6060, 0, 8}, {0, 0, 8}}},  // CSP
      {0x1601, {{0x6040, 0, 16}, {0x60FF, 0, 32}, {0x60B2, 0, 16}, {0x6060, 0, 8}, {0, 0, 8}}},                   // CSV
      {0x1602, {{0x6040, 0, 16}, {0x6071, 0, 16}, {0x6060, 0, 8}, {0, 0, 8}}},                                    // CST
  };
  return pdos;
}

const std::vector<Pdo>& tx_pdos() {
  static const std::vector<Pdo> pdos = {
      {0x1A00, {{0x6041, 0, 16}, {0x6064, 0, 32}, {0x606C, 0, 32}, {0x6077, 0, 16}, {0x6061, 0, 8}, {0, 0, 8},
                {0x603F, 0, 16}}},
  };
  return pdos;
}

std::size_t pdo_bytes(const Pdo* pdo) {
  std::size_t bits = 0;
  if (pdo)
    for (const auto& e : pdo->entries) bits += e.bits;
  return bits / 8;
}

namespace {
const Pdo* find_pdo(const std::vector<Pdo>& table, std::int64_t index) {
  for (const auto& p : table)
    if (p.index == index) return &p;
  return nullptr;
}
}  // namespace

std::size_t VirtualDrive::size_of(Type t) {
  switch (t) {
    case Type::kU8: case Type::kI8: return 1;
    case Type::kU16: case Type::kI16: return 2;
    case Type::kU32: case Type::kI32: return 4;
    case Type::kString: return std::strlen(kDeviceName);
  }
  return 0;
}

VirtualDrive::VirtualDrive(const DriveParams& p, double period_s)
    : params_(p), period_s_(period_s), drive_(cia402::DriveLoad{p.inertia_kgm2, p.viscous_nm_s_rad}) {
  using T = Type;
  auto add = [this](std::uint16_t index, std::uint8_t sub, T type, std::int64_t value, bool writable) {
    od_[key(index, sub)] = Object{type, writable, value};
  };
  add(0x1000, 0, T::kU32, 0x00020192, false);  // device type: CiA 402 servo
  add(0x1001, 0, T::kU8, 0, false);            // error register
  add(0x1008, 0, T::kString, 0, false);        // device name (kDeviceName)
  add(0x1018, 0, T::kU8, 4, false);
  add(0x1018, 1, T::kU32, p.vendor_id, false);
  add(0x1018, 2, T::kU32, p.product_code, false);
  add(0x1018, 3, T::kU32, 1, false);
  add(0x1018, 4, T::kU32, 0, false);
  add(0x1C00, 0, T::kU8, 4, false);  // sync manager communication types: mbx out, mbx in, outputs, inputs
  for (std::uint8_t sm = 1; sm <= 4; ++sm) add(0x1C00, sm, T::kU8, sm, false);
  add(0x1C12, 0, T::kU8, 1, true);
  add(0x1C12, 1, T::kU16, 0x1600, true);
  add(0x1C13, 0, T::kU8, 1, true);
  add(0x1C13, 1, T::kU16, 0x1A00, true);
  add(0x603F, 0, T::kU16, 0, false);
  add(0x6040, 0, T::kU16, 0, true);
  add(0x6041, 0, T::kU16, cia402::statusword_value(drive_.state()), false);
  add(0x605A, 0, T::kI16, 2, true);  // quick stop option code
  add(0x6060, 0, T::kI8, kModeCsp, true);
  add(0x6061, 0, T::kI8, kModeCsp, false);
  add(0x6064, 0, T::kI32, 0, false);
  add(0x606C, 0, T::kI32, 0, false);
  add(0x6071, 0, T::kI16, 0, true);
  add(0x6072, 0, T::kU16, 3000, true);  // max torque, per mille of rated
  add(0x6076, 0, T::kU32, p.rated_torque_mnm, false);
  add(0x6077, 0, T::kI16, 0, false);
  add(0x607A, 0, T::kI32, 0, true);
  add(0x608F, 0, T::kU8, 2, false);
  add(0x608F, 1, T::kU32, p.counts_per_rev, false);  // encoder increments
  add(0x608F, 2, T::kU32, 1, false);                 // per motor revolution
  add(0x60B1, 0, T::kI32, 0, true);
  add(0x60B2, 0, T::kI16, 0, true);
  add(0x60FF, 0, T::kI32, 0, true);
  add(0x6502, 0, T::kU32, (1 << 7) | (1 << 8) | (1 << 9), false);  // supported modes: CSP, CSV, CST
  for (const auto* table : {&rx_pdos(), &tx_pdos()}) {
    for (const auto& pdo : *table) {
      add(pdo.index, 0, T::kU8, static_cast<std::int64_t>(pdo.entries.size()), false);
      std::uint8_t sub = 1;
      for (const auto& e : pdo.entries)
        add(pdo.index, sub++, T::kU32, (std::int64_t{e.index} << 16) | (e.sub << 8) | e.bits, false);
    }
  }
}

std::int64_t VirtualDrive::object(std::uint16_t index, std::uint8_t sub) const { return at(index, sub).value; }

std::uint32_t VirtualDrive::sdo_read(std::uint16_t index, std::uint8_t sub, std::vector<std::uint8_t>& value) const {
  const auto it = od_.find(key(index, sub));
  if (it == od_.end()) return od_.count(key(index, 0)) ? kAbortNoSubindex : kAbortNoObject;
  const Object& o = it->second;
  if (o.type == Type::kString) {
    value.assign(kDeviceName, kDeviceName + std::strlen(kDeviceName));
    return 0;
  }
  value.resize(size_of(o.type));
  const std::uint64_t bits = static_cast<std::uint64_t>(o.value);
  for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<std::uint8_t>(bits >> (8 * i));
  return 0;
}

std::uint32_t VirtualDrive::sdo_write(std::uint16_t index, std::uint8_t sub, const std::uint8_t* data,
                                      std::size_t size, std::uint8_t al_state) {
  const auto it = od_.find(key(index, sub));
  if (it == od_.end()) return od_.count(key(index, 0)) ? kAbortNoSubindex : kAbortNoObject;
  Object& o = it->second;
  if (!o.writable) return kAbortReadOnly;
  const std::size_t n = size_of(o.type);
  if (size < n) return kAbortLength;
  std::uint64_t raw = 0;
  for (std::size_t i = 0; i < n; ++i) raw |= std::uint64_t{data[i]} << (8 * i);
  std::int64_t value = static_cast<std::int64_t>(raw);
  if (o.type == Type::kI8) value = static_cast<std::int8_t>(raw);
  if (o.type == Type::kI16) value = static_cast<std::int16_t>(raw);
  if (o.type == Type::kI32) value = static_cast<std::int32_t>(raw);
  if (index == 0x1C12 || index == 0x1C13) {
    if (al_state != kAlPreop) return kAbortState;  // PDO assignment only in PRE-OP
    if (sub == 0 && value != 0 && value != 1) return kAbortValueRange;
    if (sub == 1) {
      if (at(index, 0).value != 0) return kAbortState;  // sub 0 must be 0 while the list is edited
      if (!find_pdo(index == 0x1C12 ? rx_pdos() : tx_pdos(), value)) return kAbortValueRange;
    }
  }
  if (index == 0x6060 && value != kModeCsp && value != kModeCsv && value != kModeCst) return kAbortValueRange;
  o.value = value;
  return 0;
}

const Pdo* VirtualDrive::rx_pdo() const {
  return at(0x1C12, 0).value ? find_pdo(rx_pdos(), at(0x1C12, 1).value) : nullptr;
}
const Pdo* VirtualDrive::tx_pdo() const {
  return at(0x1C13, 0).value ? find_pdo(tx_pdos(), at(0x1C13, 1).value) : nullptr;
}


double VirtualDrive::counts_per_rad() const {
  return static_cast<double>(at(0x608F, 1).value) / static_cast<double>(at(0x608F, 2).value) / (2.0 * M_PI);
}

void VirtualDrive::freeze_encoder(bool frozen) {
  frozen_ = frozen;
  frozen_counts_ = static_cast<std::int32_t>(std::nearbyint(drive_.q() * counts_per_rad()));
}

void VirtualDrive::exchange(const std::uint8_t* outputs, bool operational, std::uint8_t* inputs) {
  using S = cia402::State;
  const Pdo* rx = rx_pdo();
  if (outputs && operational && rx) {
    std::size_t bit = 0;
    for (const auto& e : rx->entries) {
      if (e.index) {
        Object& o = at(e.index, e.sub);
        std::uint64_t raw = 0;
        for (std::size_t i = 0; i < e.bits / 8u; ++i) raw |= std::uint64_t{outputs[bit / 8 + i]} << (8 * i);
        o.value = e.bits == 8 ? std::int64_t{static_cast<std::int8_t>(raw)}
                  : e.bits == 16 ? (o.type == Type::kI16 ? std::int64_t{static_cast<std::int16_t>(raw)} : std::int64_t(raw))
                                 : std::int64_t{static_cast<std::int32_t>(raw)};
      }
      bit += e.bits;
    }
    drive_.controlword(static_cast<std::uint16_t>(at(0x6040, 0).value), static_cast<std::int16_t>(at(0x605A, 0).value));
  } else if (!operational) {
    drive_.lose_outputs();  // leaving OP: outputs are invalid, the power stage goes off
  }
  const std::int64_t mode = at(0x6060, 0).value;
  at(0x6061, 0).value = mode;
  const double dt = period_s_;
  const double rated_nm = static_cast<double>(at(0x6076, 0).value) / 1000.0;
  const double cpr = counts_per_rad();
  const double max_tau = static_cast<double>(at(0x6072, 0).value) / 1000.0 * rated_nm;
  const cia402::Mode drive_mode = mode == kModeCsp ? cia402::Mode::kCsp : mode == kModeCsv ? cia402::Mode::kCsv
                                                                                     : cia402::Mode::kCst;
  drive_.step(dt, drive_mode, static_cast<double>(at(0x607A, 0).value) / cpr,
              static_cast<double>(at(0x60FF, 0).value) / cpr, static_cast<double>(at(0x6071, 0).value) / 1000.0 * rated_nm,
              max_tau);
  const S state = drive_.state();
  std::int64_t counts = static_cast<std::int64_t>(std::nearbyint(drive_.q() * cpr));
  std::int64_t velocity = static_cast<std::int64_t>(std::nearbyint(drive_.dq() * cpr));
  if (frozen_) counts = frozen_counts_, velocity = 0;
  at(0x6064, 0).value = clamp64(counts, INT32_MIN, INT32_MAX);
  at(0x606C, 0).value = clamp64(velocity, INT32_MIN, INT32_MAX);
  at(0x6077, 0).value = clamp64(static_cast<std::int64_t>(std::nearbyint(drive_.tau() / rated_nm * 1000.0)), -32768, 32767);
  at(0x603F, 0).value = drive_.fault_code();
  std::uint16_t sw = cia402::statusword_value(state) | kSwRemote;
  if (state == S::kReadyToSwitchOn || state == S::kSwitchedOn || state == S::kOperationEnabled ||
      state == S::kQuickStopActive)
    sw |= kSwVoltageEnabled;
  at(0x6041, 0).value = sw;
  if (const Pdo* tx = tx_pdo()) {
    std::size_t byte = 0;
    for (const auto& e : tx->entries) {
      const std::uint64_t raw = e.index ? static_cast<std::uint64_t>(at(e.index, e.sub).value) : 0;
      for (std::size_t i = 0; i < e.bits / 8u; ++i) inputs[byte + i] = static_cast<std::uint8_t>(raw >> (8 * i));
      byte += e.bits / 8u;
    }
  }
}

}  // namespace humanoid_rt::ethercat_virtual
