#include "ethercat/virtual_slave/esc.hpp"

#include <time.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace humanoid_rt::ethercat_virtual {

namespace {

// AL status codes (ETG.1000.6).
constexpr std::uint16_t kAlInvalidStateChange = 0x0011, kAlUnknownState = 0x0012, kAlInvalidMailboxConfig = 0x0016,
                        kAlInvalidOutputConfig = 0x001D, kAlInvalidInputConfig = 0x001E;

// Process-RAM layout of the emulated drive (also in the SII SM category).
constexpr std::uint16_t kMbxOutAddr = 0x1000, kMbxOutLen = 128;  // SM0: master -> slave mailbox
constexpr std::uint16_t kMbxInAddr = 0x1080, kMbxInLen = 128;    // SM1: slave -> master mailbox
constexpr std::uint16_t kPdOutAddr = 0x1100, kPdInAddr = 0x1180;  // SM2 outputs, SM3 inputs

constexpr std::uint8_t kMbxTypeErr = 0x00, kMbxTypeCoe = 0x03;
constexpr std::uint16_t kCoeSdoRequest = 2, kCoeSdoResponse = 3;

constexpr std::uint16_t kSmStatus[] = {0x0805, 0x080D, 0x0815, 0x081D};  // read-only for the master

bool overlaps(std::uint16_t ado, std::size_t n, std::uint16_t lo, std::uint16_t hi) { return ado < hi && ado + n > lo; }

void le(std::vector<std::uint8_t>& v, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) v.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

// SII EEPROM image (ETG.1000.6 / ETG.2010 layout): fixed words 0x00-0x3F, then categories.
std::vector<std::uint8_t> build_sii(const DriveParams& p, const std::string& name) {
  std::uint16_t words[0x40] = {};
  words[0x00] = 0x0C08;  // PDI control: a value a real ESC config area could hold
  words[0x08] = p.vendor_id & 0xFFFF, words[0x09] = p.vendor_id >> 16;
  words[0x0A] = p.product_code & 0xFFFF, words[0x0B] = p.product_code >> 16;
  words[0x0C] = 1;  // revision
  words[0x18] = kMbxOutAddr, words[0x19] = kMbxOutLen, words[0x1A] = kMbxInAddr, words[0x1B] = kMbxInLen;
  words[0x1C] = 0x0004;  // mailbox protocols: CoE
  words[0x3E] = 0x0001;  // EEPROM size (KiB - 1)
  words[0x3F] = 0x0001;  // version
  std::vector<std::uint8_t> image;
  for (std::uint16_t w : words) le(image, w, 2);
  auto category = [&image](std::uint16_t kind, std::vector<std::uint8_t> data) {
    if (data.size() % 2) data.push_back(0);
    le(image, kind, 2);
    le(image, data.size() / 2, 2);
    image.insert(image.end(), data.begin(), data.end());
  };
  std::vector<std::uint8_t> strings = {1, static_cast<std::uint8_t>(name.size())};
  strings.insert(strings.end(), name.begin(), name.end());
  category(10, strings);
  std::vector<std::uint8_t> general(32, 0);
  general[3] = 1;                  // name: string 1
  general[5] = 0x01 | 0x04 | 0x08; // CoE: SDO, PDO assign, PDO config (no complete access, no SDO info)
  general[9] = 1;                  // one CiA 402 axis
  category(30, general);
  category(40, {1, 2, 3, 0xFF});   // FMMU0 outputs, FMMU1 inputs, FMMU2 mailbox status
  std::vector<std::uint8_t> sms;
  auto sm = [&sms](std::uint16_t start, std::uint16_t length, std::uint8_t control, std::uint8_t type) {
    le(sms, start, 2), le(sms, length, 2);
    sms.insert(sms.end(), {control, 0, 1, type});
  };
  sm(kMbxOutAddr, kMbxOutLen, 0x26, 1);
  sm(kMbxInAddr, kMbxInLen, 0x22, 2);
  sm(kPdOutAddr, 0, 0x64, 3);
  sm(kPdInAddr, 0, 0x20, 4);
  category(41, sms);
  image.insert(image.end(), {0xFF, 0xFF, 0x00, 0x00});  // end of categories
  image.resize(image.size() + (8 - image.size() % 8) % 8 + 8, 0xFF);
  return image;
}

}  // namespace

std::int64_t Esc::monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

Esc::Esc(int position, int line_length, const DriveParams& params, double period_s)
    : position_(position),
      line_length_(line_length),
      // Each ESC powered up at a different moment: its local clock starts elsewhere.
      power_on_offset_ns_(1'000'000'007LL * (position + 1)),
      sii_(build_sii(params, "hrt-cia402")),
      drive_(params, period_s) {
  const bool last = position == line_length - 1;
  mem_[0x0000] = 0x11;  // type
  mem_[0x0001] = 0x01;  // revision
  mem_[0x0004] = 8;     // FMMUs
  mem_[0x0005] = 8;     // SMs
  mem_[0x0006] = 8;     // RAM [KiB]
  mem_[0x0007] = 0x0F;  // port descriptor
  put16(0x0008, 0x0004 | 0x0008);  // features: distributed clocks, 64-bit DC
  // DL status: port 0 open + communication; port 1 open + communication unless last on the line.
  put16(0x0110, (0x0230 | (last ? 0x0400 : 0x0800)) | 0x5000);
  put16(0x0140, 0x0008);  // PDI control
  put16(0x0502, 0x0040);  // EEPROM status: 8-byte reads
  set_al();
}

void Esc::put16(std::uint16_t a, std::uint16_t v) {
  mem_[a] = v & 0xFF;
  mem_[a + 1] = v >> 8;
}
void Esc::put32(std::uint16_t a, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) mem_[a + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void Esc::put64(std::uint16_t a, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) mem_[a + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint64_t Esc::get64(std::uint16_t a) const {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{mem_[a + i]} << (8 * i);
  return v;
}

// ------------------------------------------------------------------------------ registers
void Esc::set_al() {
  put16(0x0130, al_state_ | (al_error_ ? 0x10 : 0));
  put16(0x0134, al_code_);
}

bool Esc::sm(int n, Sm& out) const {
  const std::uint16_t base = 0x0800 + 8 * n;
  out.start = get16(base);
  out.length = get16(base + 2);
  return (mem_[base + 6] & 1) && out.length;
}

void Esc::read(std::uint16_t ado, std::uint8_t* dst, std::size_t n) {
  if (ado + n > mem_.size()) {
    std::memset(dst, 0, n);
    return;
  }
  if (overlaps(ado, n, 0x0910, 0x0918)) put64(0x0910, static_cast<std::uint64_t>(system_ns(monotonic_ns())));
  if (overlaps(ado, n, 0x0990, 0x0998)) {
    const DcStatus dc = dc_status();
    if (dc.sync0_active && dc.cycle_ns && dc.system_time_ns >= dc.start_ns)  // reads as the next SYNC0 pulse
      put64(0x0990, static_cast<std::uint64_t>(dc.start_ns + static_cast<std::int64_t>(dc.sync0_pulses) * dc.cycle_ns));
  }
  std::memcpy(dst, &mem_[ado], n);
  Sm sm1;
  if (sm(1, sm1) && ado + n - 1 == std::size_t{sm1.start} + sm1.length - 1u)
    mem_[0x080D] &= ~0x08;  // last byte of the read mailbox read: mailbox empty
}

void Esc::write(std::uint16_t ado, const std::uint8_t* src, std::size_t n) {
  if (ado + n > mem_.size()) return;
  // Registers the master cannot write: keep them across the copy.
  std::uint8_t keep_sm[4];
  for (int i = 0; i < 4; ++i) keep_sm[i] = mem_[kSmStatus[i]];
  std::uint8_t keep_dc[0x20];
  const bool dc_range = overlaps(ado, n, 0x0900, 0x0920);
  if (dc_range) std::memcpy(keep_dc, &mem_[0x0900], sizeof keep_dc);
  const bool sync0_start = overlaps(ado, n, 0x0990, 0x0998);
  std::memcpy(&mem_[ado], src, n);
  for (int i = 0; i < 4; ++i) mem_[kSmStatus[i]] = keep_sm[i];
  if (dc_range) {
    std::uint32_t written_time = 0;
    const bool time_sample = ado <= 0x0910 && ado + n >= 0x0914;
    if (time_sample) std::memcpy(&written_time, &mem_[0x0910], 4);
    std::memcpy(&mem_[0x0900], keep_dc, sizeof keep_dc);
    if (overlaps(ado, n, 0x0900, 0x0904)) latch_receive_times();
    if (time_sample) {
      // Drift-compensation sample from the reference clock: keep our system time minus the
      // received time plus the propagation delay (sign-magnitude, bit 31 set when ours is
      // behind). Every emulated clock runs at the same rate, so nothing is corrected beyond the offset.
      std::uint32_t delay;
      std::memcpy(&delay, &mem_[0x0928], 4);
      const auto own = static_cast<std::uint32_t>(system_ns(monotonic_ns()));
      const auto diff = static_cast<std::int32_t>(own - (written_time + delay));
      put32(0x092C, diff < 0 ? 0x80000000u | static_cast<std::uint32_t>(-static_cast<std::int64_t>(diff))
                             : static_cast<std::uint32_t>(diff));
    }
  }
  if (sync0_start) std::memcpy(&sync0_start_written_, &mem_[0x0990], 8);
  if (overlaps(ado, n, 0x0130, 0x0136)) set_al();
  if (ado <= 0x0120 && ado + n > 0x0120) al_control(get16(0x0120));
  if (ado <= 0x0502 && ado + n > 0x0502) eeprom_command();
  if (overlaps(ado, n, 0x0600, 0x0700)) load_fmmus();
  Sm sm0;
  if (sm(0, sm0)) {
    const std::size_t last = std::size_t{sm0.start} + sm0.length - 1u;
    if (ado <= last && last < ado + n) mailbox();
  }
}

void Esc::load_fmmus() {
  fmmus_.clear();
  for (int i = 0; i < 16; ++i) {
    const std::uint16_t base = 0x0600 + 16 * i;
    Fmmu f;
    std::memcpy(&f.logical, &mem_[base], 4);
    f.length = get16(base + 4);
    f.physical = get16(base + 8);
    f.type = mem_[base + 11];
    if ((mem_[base + 12] & 1) && f.length && f.type >= 1 && f.type <= 3) fmmus_.push_back(f);
  }
}

int Esc::logical(std::uint8_t command, std::uint32_t address, std::uint8_t* data, std::size_t n) {
  bool read_done = false, write_done = false;
  for (const Fmmu& f : fmmus_) {
    const std::uint64_t lo = std::max<std::uint64_t>(f.logical, address);
    const std::uint64_t hi = std::min<std::uint64_t>(std::uint64_t{f.logical} + f.length, std::uint64_t{address} + n);
    if (lo >= hi) continue;
    std::uint8_t* at = data + (lo - address);
    const auto physical = static_cast<std::uint16_t>(f.physical + (lo - f.logical));
    if ((f.type & 1) && (command == kLrd || command == kLrw)) {  // inputs: slave memory -> frame
      read(physical, at, hi - lo);
      read_done = true;
    }
    if ((f.type & 2) && (command == kLwr || command == kLrw)) {  // outputs: frame -> slave memory
      write(physical, at, hi - lo);
      write_done = true;
    }
  }
  return (read_done ? 1 : 0) + (write_done ? (command == kLrw ? 2 : 1) : 0);
}

// ------------------------------------------------------------------------------ SII EEPROM
void Esc::eeprom_command() {
  const std::uint16_t command = get16(0x0502);
  if ((command & 0x0700) == 0x0100) {  // read: 8 bytes from word `address`
    const std::size_t start = std::size_t{get16(0x0504)} * 2;
    for (std::size_t i = 0; i < 8; ++i) mem_[0x0508 + i] = start + i < sii_.size() ? sii_[start + i] : 0xFF;
  }
  put16(0x0502, 0x0040);  // done: not busy, no error, 8-byte reads
}

// ------------------------------------------------------------------------------ AL state machine
void Esc::al_fail(std::uint16_t code) {
  al_error_ = true;
  al_code_ = code;
  set_al();
}

void Esc::al_control(std::uint16_t control) {
  const std::uint8_t requested = control & 0x0F;
  if (control & 0x10) {  // error acknowledge
    al_error_ = false;
    al_code_ = 0;
  }
  if (requested != kAlInit && requested != kAlPreop && requested != kAlBoot && requested != kAlSafeop &&
      requested != kAlOp)
    return al_fail(kAlUnknownState);
  const std::uint8_t current = al_state_;
  if (requested == current) return set_al();
  if (requested == kAlInit || (requested < current && requested != kAlBoot)) {
    al_state_ = requested;  // going down is always allowed
  } else if (al_error_) {
    // an error must be acknowledged before going up
  } else if ((current == kAlInit && requested == kAlPreop) || (current == kAlPreop && requested == kAlSafeop) ||
             (current == kAlSafeop && requested == kAlOp)) {
    if (requested == kAlPreop) {
      Sm m0, m1;
      if (!sm(0, m0) || !sm(1, m1) || m0.start != kMbxOutAddr || m0.length != kMbxOutLen || m1.start != kMbxInAddr ||
          m1.length != kMbxInLen)
        return al_fail(kAlInvalidMailboxConfig);
    }
    if (requested == kAlSafeop) {
      Sm s2{0, 0}, s3{0, 0};
      const bool has2 = sm(2, s2), has3 = sm(3, s3);
      if ((has2 ? s2.length : 0) != pdo_bytes(drive_.rx_pdo()) || (has2 && s2.start != kPdOutAddr))
        return al_fail(kAlInvalidOutputConfig);
      if ((has3 ? s3.length : 0) != pdo_bytes(drive_.tx_pdo()) || (has3 && s3.start != kPdInAddr))
        return al_fail(kAlInvalidInputConfig);
    }
    al_state_ = requested;
  } else {
    return al_fail(kAlInvalidStateChange);
  }
  set_al();
}

// ------------------------------------------------------------------------------ CoE mailbox
void Esc::mailbox() {
  Sm sm0;
  sm(0, sm0);
  const std::uint8_t* box = &mem_[sm0.start];
  const std::uint16_t length = static_cast<std::uint16_t>(box[0] | (box[1] << 8));
  const std::uint8_t counter = (box[5] >> 4) & 0x07;
  std::vector<std::uint8_t> out;
  auto header = [&out, counter](std::size_t n, std::uint8_t type) {
    out.clear();
    le(out, n, 2), le(out, 0, 2);
    out.push_back(0);
    out.push_back(static_cast<std::uint8_t>(type | (counter << 4)));
  };
  if ((box[5] & 0x0F) != kMbxTypeCoe || length < 10) {
    header(4, kMbxTypeErr);
    le(out, 1, 2), le(out, 0x02, 2);  // mailbox error: unsupported protocol
    return reply(out);
  }
  const std::uint16_t coe = static_cast<std::uint16_t>(box[6] | (box[7] << 8));
  const std::uint8_t command = box[8];
  const std::uint16_t index = static_cast<std::uint16_t>(box[9] | (box[10] << 8));
  const std::uint8_t sub = box[11];
  auto sdo = [&](std::uint16_t service, std::uint8_t cmd, std::uint32_t word, const std::vector<std::uint8_t>& extra) {
    header(2 + 8 + extra.size(), kMbxTypeCoe);
    le(out, service << 12, 2);
    out.push_back(cmd);
    le(out, index, 2);
    out.push_back(sub);
    le(out, word, 4);
    out.insert(out.end(), extra.begin(), extra.end());
  };
  std::uint32_t abort = kAbortUnsupported;
  if (coe >> 12 == kCoeSdoRequest && !(command & 0x10)) {  // 0x10: complete access, not supported
    const int ccs = command >> 5;
    if (ccs == 2) {  // upload
      std::vector<std::uint8_t> value;
      abort = drive_.sdo_read(index, sub, value);
      if (!abort) {
        if (value.size() <= 4) {
          std::uint32_t word = 0;
          for (std::size_t i = 0; i < value.size(); ++i) word |= std::uint32_t{value[i]} << (8 * i);
          sdo(kCoeSdoResponse, static_cast<std::uint8_t>(0x43 | ((4 - value.size()) << 2)), word, {});
        } else {
          sdo(kCoeSdoResponse, 0x41, static_cast<std::uint32_t>(value.size()), value);
        }
        return reply(out);
      }
    } else if (ccs == 1) {  // download
      const std::uint8_t* data;
      std::size_t size;
      if (command & 0x02) {  // expedited
        size = (command & 0x01) ? 4 - ((command >> 2) & 0x03) : 4;
        data = box + 12;
      } else {
        size = std::min<std::size_t>(box[12] | (box[13] << 8) | (box[14] << 16) | (std::size_t{box[15]} << 24),
                                     sm0.length - 16u);
        data = box + 16;
      }
      abort = drive_.sdo_write(index, sub, data, size, al_state_);
      if (!abort) {
        sdo(kCoeSdoResponse, 0x60, 0, {});
        return reply(out);
      }
    }
  }
  sdo(kCoeSdoRequest, 0x80, abort, {});
  reply(out);
}

void Esc::reply(const std::vector<std::uint8_t>& message) {
  Sm sm1;
  if (!sm(1, sm1)) return;
  const std::size_t n = std::min<std::size_t>(message.size(), sm1.length);
  std::memcpy(&mem_[sm1.start], message.data(), n);
  std::memset(&mem_[sm1.start + n], 0, sm1.length - n);
  mem_[0x080D] |= 0x08;  // read mailbox full
}

// ------------------------------------------------------------------------------ process data
void Esc::process_data() {
  if (al_state_ < kAlSafeop) return;
  Sm s2, s3;
  const bool has2 = sm(2, s2), has3 = sm(3, s3);
  std::uint8_t inputs[64] = {};
  drive_.exchange(has2 ? &mem_[s2.start] : nullptr, al_state_ == kAlOp, inputs);
  if (has3) std::memcpy(&mem_[s3.start], inputs, std::min<std::size_t>(pdo_bytes(drive_.tx_pdo()), s3.length));
}

// ------------------------------------------------------------------------------ distributed clocks
std::int64_t Esc::system_ns(std::int64_t monotonic) const {
  return local_ns(monotonic) + static_cast<std::int64_t>(get64(0x0920));
}

void Esc::latch_receive_times() {
  // The frame passes this slave on its way out (port 0) and again on its way back (port 1).
  const std::int64_t out = frame_arrival_ns_ + position_ * kHopNs;
  const std::int64_t back = frame_arrival_ns_ + (2 * (line_length_ - 1) - position_) * kHopNs;
  put32(0x0900, static_cast<std::uint32_t>(local_ns(out)));
  put32(0x0904, position_ == line_length_ - 1 ? 0u : static_cast<std::uint32_t>(local_ns(back)));
  put32(0x0908, 0);
  put32(0x090C, 0);
  put64(0x0918, static_cast<std::uint64_t>(local_ns(out)));
}

Esc::DcStatus Esc::dc_status() const {
  DcStatus s;
  s.sync0_active = (mem_[0x0981] & 0x03) == 0x03;
  std::memcpy(&s.cycle_ns, &mem_[0x09A0], 4);
  s.start_ns = sync0_start_written_;
  s.system_time_ns = system_ns(monotonic_ns());
  s.offset_ns = static_cast<std::int64_t>(get64(0x0920));
  std::memcpy(&s.delay_ns, &mem_[0x0928], 4);
  s.sync0_pulses = s.sync0_active && s.cycle_ns && s.system_time_ns >= s.start_ns
                       ? static_cast<std::uint64_t>((s.system_time_ns - s.start_ns) / s.cycle_ns) + 1
                       : 0;
  return s;
}

}  // namespace humanoid_rt::ethercat_virtual
