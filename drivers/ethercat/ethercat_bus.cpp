#include "ethercat/ethercat_bus.hpp"

#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>
#include <stdexcept>

extern "C" {
#include "ethercat.h"
}

namespace humanoid_rt {

namespace {

constexpr std::size_t kIoMapBytes = 8192;

// Process-data layouts: firmware_interfaces/ethercat/README.md (offsets in bytes).
constexpr std::uint16_t kRxPdoForMode(cia402::Mode m) {
  return m == cia402::Mode::kCsp ? 0x1600 : m == cia402::Mode::kCsv ? 0x1601 : 0x1602;
}
constexpr std::uint32_t kRxBytes(cia402::Mode m) { return m == cia402::Mode::kCsp ? 14 : m == cia402::Mode::kCsv ? 10 : 6; }
constexpr std::uint32_t kTxBytes = 16;  // 0x1A00: 6041 u16, 6064 i32, 606C i32, 6077 i16, 6061 i8, pad 8, 603F u16

std::int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

template <typename T>
T get(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // little-endian host (SOEM is built for EC_LITTLE_ENDIAN)
  return v;
}
template <typename T>
void put(std::uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

std::string hex(std::uint32_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << std::uppercase << v;
  return s.str();
}

const char* al_name(std::uint16_t state) {
  switch (state & 0x0F) {
    case EC_STATE_INIT: return "INIT";
    case EC_STATE_PRE_OP: return "PRE-OP";
    case EC_STATE_BOOT: return "BOOT";
    case EC_STATE_SAFE_OP: return "SAFE-OP";
    case EC_STATE_OPERATIONAL: return "OP";
    default: return "NONE";
  }
}

}  // namespace

struct EthercatBus::Soem {
  ecx_portt port{};
  ec_slavet slaves[EC_MAXSLAVE]{};
  int slavecount = 0;
  ec_groupt groups[EC_MAXGROUP]{};
  uint8 esibuf[EC_MAXEEPBUF]{};
  uint32 esimap[EC_MAXEEPBITMAP]{};
  ec_eringt elist{};
  ec_idxstackT idxstack{};
  boolean ecaterror = FALSE;
  int64 dctime = 0;
  ec_SMcommtypet smcommtype[EC_MAX_MAPT]{};
  ec_PDOassignt pdoassign[EC_MAX_MAPT]{};
  ec_PDOdesct pdodesc[EC_MAX_MAPT]{};
  ec_eepromSMt eepsm{};
  ec_eepromFMMUt eepfmmu{};
  alignas(8) std::uint8_t iomap[kIoMapBytes]{};
  ecx_contextt ctx{};
  bool open = false;

  Soem() {
    ctx.port = &port;
    ctx.slavelist = slaves;
    ctx.slavecount = &slavecount;
    ctx.maxslave = EC_MAXSLAVE;
    ctx.grouplist = groups;
    ctx.maxgroup = EC_MAXGROUP;
    ctx.esibuf = esibuf;
    ctx.esimap = esimap;
    ctx.esislave = 0;
    ctx.elist = &elist;
    ctx.idxstack = &idxstack;
    ctx.ecaterror = &ecaterror;
    ctx.DCtime = &dctime;
    ctx.SMcommtype = smcommtype;
    ctx.PDOassign = pdoassign;
    ctx.PDOdesc = pdodesc;
    ctx.eepSM = &eepsm;
    ctx.eepFMMU = &eepfmmu;
    ctx.manualstatechange = 0;
  }
};

EthercatBus::EthercatBus(std::string name, EthercatBusOptions options)
    : name_(std::move(name)), options_(std::move(options)), soem_(std::make_unique<Soem>()) {}

EthercatBus::~EthercatBus() {
  try {
    deactivate();
  } catch (...) {
  }
}

void EthercatBus::add_drive(int joint, int slave_position, cia402::Mode mode) {
  if (soem_->open) throw std::logic_error("EtherCAT bus " + name_ + ": add_drive() after configure()");
  auto d = std::make_unique<Drive>();
  d->joint = joint;
  d->slave = slave_position;
  d->mode = mode;
  drives_.push_back(std::move(d));
}

void EthercatBus::fail(const std::string& step, int slave, const std::string& what) const {
  std::ostringstream s;
  s << "EtherCAT bus " << name_ << " on " << options_.interface << ": step " << step;
  if (slave > 0) {
    s << ", slave " << slave;
    if (slave <= soem_->slavecount && soem_->slaves[slave].name[0]) s << " (" << soem_->slaves[slave].name << ")";
  }
  s << ": " << what;
  throw std::runtime_error(s.str());
}

void EthercatBus::configure(const std::vector<int>& joint_indices, double period_s) {
  period_s_ = period_s;
  ecx_contextt* ctx = &soem_->ctx;
  for (int j : joint_indices) {
    if (std::none_of(drives_.begin(), drives_.end(), [j](const auto& d) { return d->joint == j; }))
      fail("configure", 0, "joint " + std::to_string(j) + " has no drive (add_drive)");
  }
  // open
  humanoid_rt_soem_timeouts.ret = options_.frame_timeout_us;
  if (!soem_->open) {
    if (ecx_init(ctx, options_.interface.c_str()) <= 0)
      fail("open", 0, "cannot open a raw EtherCAT socket on interface " + options_.interface +
                          " (does it exist? raw sockets need root or CAP_NET_RAW)");
    soem_->open = true;
  }
  // scan
  const int found = ecx_config_init(ctx, FALSE);
  if (found <= 0) fail("scan", 0, "no slaves answered on " + options_.interface);
  const int expected = static_cast<int>(options_.slaves.size());
  if (found != expected) {
    std::ostringstream s;
    s << "found " << found << " slave(s), the config expects " << expected << "; found:";
    for (int i = 1; i <= found; ++i)
      s << " [" << i << "] vendor " << hex(soem_->slaves[i].eep_man) << " product " << hex(soem_->slaves[i].eep_id);
    fail("scan", 0, s.str());
  }
  for (const auto& spec : options_.slaves) {
    const ec_slavet& sl = soem_->slaves[spec.position];
    if (sl.eep_man != spec.vendor_id || sl.eep_id != spec.product_code)
      fail("scan", spec.position,
           "vendor " + hex(sl.eep_man) + " product " + hex(sl.eep_id) + ", the config expects vendor " +
               hex(spec.vendor_id) + " product " + hex(spec.product_code) + " at position " +
               std::to_string(spec.position));
  }
  for (const auto& d : drives_) {
    if (d->slave < 1 || d->slave > found)
      fail("scan", d->slave, "joint " + std::to_string(d->joint) + " names slave position " +
                                 std::to_string(d->slave) + ", line has 1.." + std::to_string(found));
    if (!(soem_->slaves[d->slave].mbx_proto & ECT_MBXPROT_COE)) fail("preop", d->slave, "slave has no CoE mailbox");
  }
  // preop: every slave is in PRE-OP after ecx_config_init (it requests it); check, then SDOs.
  if (ecx_statecheck(ctx, 0, EC_STATE_PRE_OP, static_cast<int>(options_.state_timeout_s * 1e6)) != EC_STATE_PRE_OP) {
    ecx_readstate(ctx);
    for (int i = 1; i <= found; ++i)
      if ((soem_->slaves[i].state & 0x0F) != EC_STATE_PRE_OP)
        fail("preop", i, std::string("in ") + al_name(soem_->slaves[i].state) + ", AL status code " +
                             hex(soem_->slaves[i].ALstatuscode) + " (" + ec_ALstatuscode2string(soem_->slaves[i].ALstatuscode) + ")");
  }
  for (auto& d : drives_) configure_slave_sdo(*d);
  // map
  const int iobytes = ecx_config_map_group(ctx, soem_->iomap, 0);
  if (iobytes <= 0 || iobytes > static_cast<int>(kIoMapBytes)) fail("map", 0, "process image of " + std::to_string(iobytes) + " bytes");
  for (auto& d : drives_) {
    const ec_slavet& sl = soem_->slaves[d->slave];
    if (sl.Obytes != kRxBytes(d->mode) || sl.Ibytes != kTxBytes)
      fail("map", d->slave, "process data is " + std::to_string(sl.Obytes) + " output / " + std::to_string(sl.Ibytes) +
                                " input bytes (" + std::to_string(sl.Obits) + "/" + std::to_string(sl.Ibits) + " bits, input start bit " + std::to_string(sl.Istartbit) + "); firmware_interfaces/ethercat expects " + std::to_string(kRxBytes(d->mode)) +
                                " / " + std::to_string(kTxBytes) + " for RxPDO " + hex(kRxPdoForMode(d->mode)) + " + TxPDO 0x1A00");
    d->out = sl.outputs;
    d->in = sl.inputs;
  }
  expected_wkc_ = soem_->groups[0].outputsWKC * 2 + soem_->groups[0].inputsWKC;
  // safeop
  request_state(EC_STATE_SAFE_OP, "safeop");
  // dc: only where the slave says it has DC (ESC feature register 0x0008 bit 2): SOEM measures the
  // propagation delays, sets every slave's system-time offset, and starts SYNC0 at the loop period.
  // From then on each process-data frame also carries the reference clock's time (FRMW 0x0910).
  dc_slaves_ = 0;
  if (options_.distributed_clocks && ecx_configdc(ctx)) {
    for (int i = 1; i <= found; ++i) {
      if (!soem_->slaves[i].hasdc) continue;
      ecx_dcsync0(ctx, static_cast<uint16>(i), TRUE, static_cast<uint32>(period_s * 1e9), 0);
      ++dc_slaves_;
    }
  }
}

void EthercatBus::configure_slave_sdo(const Drive& d) {
  ecx_contextt* ctx = &soem_->ctx;
  const int timeout = EC_TIMEOUTRXM;
  auto write = [&](std::uint16_t index, std::uint8_t sub, auto value, const char* what) {
    int size = sizeof value;
    if (ecx_SDOwrite(ctx, static_cast<uint16>(d.slave), index, sub, FALSE, size, &value, timeout) <= 0) {
      std::string detail;
      while (ctx->ecaterror && *ctx->ecaterror) detail += ecx_elist2string(ctx);
      fail("preop", d.slave, std::string("SDO write ") + hex(index) + ":" + std::to_string(sub) + " (" + what + ") failed " + detail);
    }
  };
  auto read = [&](std::uint16_t index, std::uint8_t sub, auto& value, const char* what) {
    int size = sizeof value;
    if (ecx_SDOread(ctx, static_cast<uint16>(d.slave), index, sub, FALSE, &size, &value, timeout) <= 0) {
      std::string detail;
      while (ctx->ecaterror && *ctx->ecaterror) detail += ecx_elist2string(ctx);
      fail("preop", d.slave, std::string("SDO read ") + hex(index) + ":" + std::to_string(sub) + " (" + what + ") failed " + detail);
    }
  };
  write(0x6060, 0, static_cast<std::int8_t>(d.mode), "modes of operation");
  write(0x1C12, 0, static_cast<std::uint8_t>(0), "RxPDO assignment: clear");
  write(0x1C12, 1, kRxPdoForMode(d.mode), "RxPDO assignment");
  write(0x1C12, 0, static_cast<std::uint8_t>(1), "RxPDO assignment: count");
  write(0x605A, 0, cia402::quick_stop_option_for_category(options_.stop_category), "quick stop option code");
  std::uint32_t rated_mnm = 0, increments = 0, revolutions = 0;
  read(0x6076, 0, rated_mnm, "rated torque");
  read(0x608F, 1, increments, "encoder increments");
  read(0x608F, 2, revolutions, "motor revolutions");
  if (rated_mnm == 0 || increments == 0 || revolutions == 0)
    fail("preop", d.slave, "rated torque 0x6076 and encoder resolution 0x608F must be non-zero (got " +
                               std::to_string(rated_mnm) + " mNm, " + std::to_string(increments) + "/" + std::to_string(revolutions) + ")");
  Drive& dd = const_cast<Drive&>(d);
  dd.units.rated_torque_nm = rated_mnm / 1000.0;
  dd.units.counts_per_rad = static_cast<double>(increments) / revolutions / (2.0 * M_PI);
}

void EthercatBus::request_state(std::uint16_t state, const std::string& step) {
  ecx_contextt* ctx = &soem_->ctx;
  soem_->slaves[0].state = state;
  ecx_writestate(ctx, 0);
  const std::int64_t deadline = now_ns() + static_cast<std::int64_t>(options_.state_timeout_s * 1e9);
  while (now_ns() < deadline) {
    // Process data keeps flowing during the change, as slaves expect valid outputs before OP.
    if (state == EC_STATE_OPERATIONAL) exchange_once(options_.receive_timeout_us > 2000 ? options_.receive_timeout_us : 2000);
    if (ecx_statecheck(ctx, 0, state, 2000) == state) return;
  }
  ecx_readstate(ctx);
  for (int i = 1; i <= soem_->slavecount; ++i) {
    const ec_slavet& sl = soem_->slaves[i];
    if ((sl.state & 0x0F) != state)
      fail(step, i, std::string("did not reach ") + al_name(state) + ": in " + al_name(sl.state) +
                        ((sl.state & EC_STATE_ERROR) ? " with error" : "") + ", AL status code " + hex(sl.ALstatuscode) +
                        " (" + ec_ALstatuscode2string(sl.ALstatuscode) + ")");
  }
  fail(step, 0, std::string("the line did not reach ") + al_name(state));
}

void EthercatBus::activate() {
  if (!soem_->open) fail("op", 0, "activate() before configure()");
  // Safe outputs first: quick stop (no torque) and zero targets, then OP.
  for (auto& d : drives_) {
    std::memset(d->out, 0, kRxBytes(d->mode));
    put<std::uint16_t>(d->out, cia402::kQuickStop);
    d->out[kRxBytes(d->mode) - 2] = static_cast<std::uint8_t>(static_cast<std::int8_t>(d->mode));
  }
  request_state(EC_STATE_OPERATIONAL, "op");
  operational_ = true;
  have_frame_ = false;
  bad_cycles_ = 0;
  // One exchange so the first read() has fresh inputs.
  last_wkc_ = exchange_once(std::max(options_.receive_timeout_us, 2000));
  have_frame_ = last_wkc_ == expected_wkc_;
}

int EthercatBus::exchange_once(int timeout_us) {
  ecx_contextt* ctx = &soem_->ctx;
  const std::int64_t sent = now_ns();
  ecx_send_processdata(ctx);
  frames_sent_.fetch_add(1, std::memory_order_relaxed);
  const std::int64_t deadline = sent + static_cast<std::int64_t>(timeout_us) * 1000;
  // Sleep in poll() until the socket has a frame (or the deadline); only then let SOEM read it.
  // SOEM's own receive is a busy loop of 1 us recv() timeouts, so it is called with the time left
  // only once something is there (normally our frame: it then returns at once).
  pollfd pfd{soem_->port.sockhandle, POLLIN, 0};
  int wkc = EC_NOFRAME;
  for (;;) {
    const std::int64_t left_ns = deadline - now_ns();
    if (left_ns <= 0) {
      wkc = ecx_receive_processdata(ctx, 0);  // last look; also releases SOEM's buffer slot
      break;
    }
    const timespec ts{static_cast<time_t>(left_ns / 1000000000LL), static_cast<long>(left_ns % 1000000000LL)};
    if (ppoll(&pfd, 1, &ts, nullptr) > 0) {
      wkc = ecx_receive_processdata(ctx, static_cast<int>(std::max<std::int64_t>((deadline - now_ns()) / 1000, 0)));
      break;
    }
  }
  if (wkc > 0) round_trip_.record(now_ns() - sent);
  return wkc;
}

BusStatus EthercatBus::read(double t, JointState& s) {
  cycles_.fetch_add(1, std::memory_order_relaxed);
  for (auto& dp : drives_) {
    Drive& d = *dp;
    const int j = d.joint;
    s.fresh[j] = have_frame_ ? 1 : 0;
    if (!have_frame_) continue;  // last known values stay
    const std::uint8_t* in = d.in;
    const std::uint16_t sw = get<std::uint16_t>(in + 0);
    s.q[j] = d.units.position_rad(get<std::int32_t>(in + 2));
    s.dq[j] = d.units.velocity_rad_s(get<std::int32_t>(in + 6));
    s.tau[j] = d.units.torque_nm(get<std::int16_t>(in + 10));
    s.temperature_c[j] = 0.0;  // CiA 402 has no standard temperature object in the PDO
    const std::uint16_t code = get<std::uint16_t>(in + 14);
    const cia402::State st = cia402::decode_statusword(sw);
    const bool faulted = st == cia402::State::kFault || st == cia402::State::kFaultReactionActive;
    s.drive_error[j] = faulted ? (code ? code : 0xFF00) : 0;  // 0xFF00: fault without a code (manufacturer range)
    d.statusword.store(sw, std::memory_order_relaxed);
    d.error_code.store(code, std::memory_order_relaxed);
  }
  if (bad_cycles_ > options_.wkc_tolerance) {
    bus_faults_.fetch_add(1, std::memory_order_relaxed);
    return BusStatus::kError;
  }
  return BusStatus::kOk;
}

BusStatus EthercatBus::write(double t, const JointCommand& c) {
  if (!operational_) return BusStatus::kError;
  const bool reset = fault_reset_request_.exchange(false, std::memory_order_acq_rel);
  for (auto& dp : drives_) {
    Drive& d = *dp;
    const int j = d.joint;
    const cia402::State st = cia402::decode_statusword(d.statusword.load(std::memory_order_relaxed));
    const bool enable = c.torque_enabled[j] != 0;
    // A fault reset is a rising edge of bit 7: one cycle high, then low again.
    const bool pulse = (reset || d.reset_pulse) && !(d.controlword & cia402::kFaultReset);
    d.reset_pulse = reset && !pulse;
    d.controlword = cia402::next_controlword(st, enable, options_.stop_category, pulse);
    std::uint8_t* out = d.out;
    put<std::uint16_t>(out, d.controlword);
    const bool on = enable && st == cia402::State::kOperationEnabled;
    const std::int32_t q_actual = get<std::int32_t>(d.in + 2);
    switch (d.mode) {
      case cia402::Mode::kCsp:  // targets track the measurement while off, so enabling never jumps
        put<std::int32_t>(out + 2, on ? d.units.position_counts(c.q[j]) : q_actual);
        put<std::int32_t>(out + 6, on ? d.units.velocity_counts(c.dq[j]) : 0);
        put<std::int16_t>(out + 10, on ? d.units.torque_per_mille(c.tau[j]) : 0);
        out[12] = static_cast<std::uint8_t>(8);
        break;
      case cia402::Mode::kCsv:
        put<std::int32_t>(out + 2, on ? d.units.velocity_counts(c.dq[j]) : 0);
        put<std::int16_t>(out + 6, on ? d.units.torque_per_mille(c.tau[j]) : 0);
        out[8] = static_cast<std::uint8_t>(9);
        break;
      case cia402::Mode::kCst:
        put<std::int16_t>(out + 2, on ? d.units.torque_per_mille(c.tau[j]) : 0);
        out[4] = static_cast<std::uint8_t>(10);
        break;
    }
  }
  last_wkc_ = exchange_once(options_.receive_timeout_us);
  last_wkc_shared_.store(last_wkc_, std::memory_order_relaxed);
  dc_time_ns_.store(soem_->dctime, std::memory_order_relaxed);
  if (last_wkc_ == expected_wkc_) {
    have_frame_ = true;
    bad_cycles_ = 0;
  } else {
    have_frame_ = false;
    ++bad_cycles_;
    (last_wkc_ <= 0 && last_wkc_ == EC_NOFRAME ? lost_frames_ : wkc_errors_).fetch_add(1, std::memory_order_relaxed);
  }
  return BusStatus::kOk;
}

void EthercatBus::deactivate() {
  if (!soem_->open) return;
  ecx_contextt* ctx = &soem_->ctx;
  if (operational_) {
    // Torque off at every drive (quick stop per 0x605A, then disable voltage), then back to INIT.
    for (int k = 0; k < 3; ++k) {
      for (auto& d : drives_) put<std::uint16_t>(d->out, k == 0 ? cia402::kQuickStop : cia402::kDisableVoltage);
      exchange_once(std::max(options_.receive_timeout_us, 2000));
    }
    operational_ = false;
  }
  soem_->slaves[0].state = EC_STATE_INIT;
  ecx_writestate(ctx, 0);
  ecx_close(ctx);
  soem_->open = false;
}

EthercatStatistics EthercatBus::statistics() const {
  EthercatStatistics s;
  s.cycles = cycles_.load(std::memory_order_relaxed);
  s.frames_sent = frames_sent_.load(std::memory_order_relaxed);
  s.lost_frames = lost_frames_.load(std::memory_order_relaxed);
  s.wkc_errors = wkc_errors_.load(std::memory_order_relaxed);
  s.bus_faults = bus_faults_.load(std::memory_order_relaxed);
  s.expected_wkc = expected_wkc_;
  s.last_wkc = last_wkc_shared_.load(std::memory_order_relaxed);
  s.dc_slaves = dc_slaves_;
  s.dc_time_ns = dc_time_ns_.load(std::memory_order_relaxed);
  return s;
}

void EthercatBus::reset_statistics() {
  for (auto* a : {&cycles_, &frames_sent_, &lost_frames_, &wkc_errors_, &bus_faults_}) a->store(0);
  round_trip_.reset();
}

std::string EthercatBus::describe() const {
  std::ostringstream s;
  for (int i = 1; i <= soem_->slavecount; ++i) {
    const ec_slavet& sl = soem_->slaves[i];
    s << "[" << i << "] " << sl.name << " vendor " << hex(sl.eep_man) << " product " << hex(sl.eep_id)
      << " out " << sl.Obytes << " B in " << sl.Ibytes << " B" << (sl.hasdc ? " DC" : "") << "\n";
  }
  return s.str();
}

int EthercatBus::drive_state(int joint) const {
  for (const auto& d : drives_)
    if (d->joint == joint) return static_cast<int>(cia402::decode_statusword(d->statusword.load(std::memory_order_relaxed)));
  throw std::out_of_range("no drive for joint " + std::to_string(joint));
}
std::uint16_t EthercatBus::drive_error_code(int joint) const {
  for (const auto& d : drives_)
    if (d->joint == joint) return d->error_code.load(std::memory_order_relaxed);
  throw std::out_of_range("no drive for joint " + std::to_string(joint));
}
double EthercatBus::rated_torque_nm(int joint) const {
  for (const auto& d : drives_)
    if (d->joint == joint) return d->units.rated_torque_nm;
  throw std::out_of_range("no drive for joint " + std::to_string(joint));
}
double EthercatBus::counts_per_rad(int joint) const {
  for (const auto& d : drives_)
    if (d->joint == joint) return d->units.counts_per_rad;
  throw std::out_of_range("no drive for joint " + std::to_string(joint));
}

}  // namespace humanoid_rt
