#include "can_codecs.hpp"

#include <cmath>
#include <cstring>
#include <limits>

namespace humanoid_rt::can {

namespace {

constexpr std::uint32_t kRobstrideMotion = 1, kRobstrideFeedback = 2, kRobstrideEnable = 3,
                        kRobstrideStop = 4, kRobstrideZero = 6;
constexpr std::uint32_t kMyActuatorCommandBase = 0x400, kMyActuatorReplyBase = 0x500,
                        kMyActuatorSystemBase = 0x140;
constexpr std::uint8_t kMyActuatorShutdown = 0x80, kMyActuatorZeroToRom = 0x64;

inline std::uint32_t be16(const std::uint8_t* d) { return (std::uint32_t(d[0]) << 8) | d[1]; }
inline void put_be16(std::uint8_t* d, std::uint32_t v) {
  d[0] = static_cast<std::uint8_t>(v >> 8);
  d[1] = static_cast<std::uint8_t>(v);
}

void clear(Frame& f) {
  f.id = 0;
  f.extended = false;
  f.len = 0;
  std::memset(f.data, 0, sizeof(f.data));
}

// [id][p16][v12 t12] as in the reference firmware's pack_reply.
void decode_pvt(const MitRanges& r, const std::uint8_t* d, Reply& out) {
  const std::uint32_t p = be16(d + 1);
  const std::uint32_t v = (std::uint32_t(d[3]) << 4) | (d[4] >> 4);
  const std::uint32_t t = ((std::uint32_t(d[4]) & 0xF) << 8) | d[5];
  out.q = uint_to_float(p, -r.p_max, r.p_max, 16);
  out.dq = uint_to_float(v, -r.v_max, r.v_max, 12);
  out.tau = uint_to_float(t, -r.t_max, r.t_max, 12);
}

}  // namespace

const char* to_string(Protocol p) {
  switch (p) {
    case Protocol::kMitReference: return "mit_reference";
    case Protocol::kCubeMars: return "cubemars";
    case Protocol::kDamiao: return "damiao";
    case Protocol::kRobstride: return "robstride";
    case Protocol::kMyActuator: return "myactuator";
  }
  return "unknown";
}

MitRanges default_ranges(Protocol p) {
  // Typical models; every range is overridable per joint in the robot config.
  switch (p) {
    case Protocol::kMitReference: return {12.5f, 65.0f, 500.0f, 5.0f, 18.0f};   // mini cheetah actuator
    case Protocol::kCubeMars: return {12.5f, 50.0f, 500.0f, 5.0f, 25.0f};       // AK80-9
    case Protocol::kDamiao: return {12.5f, 30.0f, 500.0f, 5.0f, 10.0f};         // DM-J4310 registers PMAX/VMAX/TMAX
    case Protocol::kRobstride: return {12.57f, 44.0f, 500.0f, 5.0f, 17.0f};     // RS01
    case Protocol::kMyActuator: return {12.5f, 45.0f, 500.0f, 5.0f, 18.0f};     // RMD-X motion mode defaults
  }
  return {};
}

std::uint32_t float_to_uint(float x, float x_min, float x_max, int bits) {
  if (std::isnan(x)) x = 0.0f;
  if (x < x_min) x = x_min;
  if (x > x_max) x = x_max;
  const float span = x_max - x_min;
  const float offset = x_min;
  // The firmware's order of operations, in float: multiply by the code span, then divide.
  return static_cast<std::uint32_t>((x - offset) * static_cast<float>((1u << bits) - 1u) / span);
}

float uint_to_float(std::uint32_t x, float x_min, float x_max, int bits) {
  const float span = x_max - x_min;
  return static_cast<float>(x) * span / static_cast<float>((1u << bits) - 1u) + x_min;
}

void encode_mit_payload(const MitRanges& r, double q, double dq, double kp, double kd, double tau,
                        std::uint8_t out[8]) {
  const std::uint32_t p = float_to_uint(static_cast<float>(q), -r.p_max, r.p_max, 16);
  const std::uint32_t v = float_to_uint(static_cast<float>(dq), -r.v_max, r.v_max, 12);
  const std::uint32_t k = float_to_uint(static_cast<float>(kp), 0.0f, r.kp_max, 12);
  std::uint32_t d = float_to_uint(static_cast<float>(kd), 0.0f, r.kd_max, 12);
  const std::uint32_t t = float_to_uint(static_cast<float>(tau), -r.t_max, r.t_max, 12);
  // All four leading fields saturated would make bytes 0..6 all FF: the special-frame prefix.
  if (p == 0xFFFF && v == 0xFFF && k == 0xFFF && d == 0xFFF) d = 0xFFE;
  out[0] = static_cast<std::uint8_t>(p >> 8);
  out[1] = static_cast<std::uint8_t>(p);
  out[2] = static_cast<std::uint8_t>(v >> 4);
  out[3] = static_cast<std::uint8_t>(((v & 0xF) << 4) | (k >> 8));
  out[4] = static_cast<std::uint8_t>(k);
  out[5] = static_cast<std::uint8_t>(d >> 4);
  out[6] = static_cast<std::uint8_t>(((d & 0xF) << 4) | (t >> 8));
  out[7] = static_cast<std::uint8_t>(t);
}

void encode_command(Protocol protocol, const MitRanges& r, std::uint32_t device_id, std::uint32_t host_id,
                    double q, double dq, double kp, double kd, double tau, Frame& out) {
  clear(out);
  out.len = 8;
  switch (protocol) {
    case Protocol::kMitReference:
    case Protocol::kCubeMars:
    case Protocol::kDamiao:
      out.id = device_id & 0x7FF;
      encode_mit_payload(r, q, dq, kp, kd, tau, out.data);
      return;
    case Protocol::kMyActuator:
      out.id = (kMyActuatorCommandBase + device_id) & 0x7FF;
      encode_mit_payload(r, q, dq, kp, kd, tau, out.data);
      return;
    case Protocol::kRobstride: {
      const std::uint32_t t = float_to_uint(static_cast<float>(tau), -r.t_max, r.t_max, 16);
      out.extended = true;
      out.id = (kRobstrideMotion << 24) | (t << 8) | (device_id & 0xFF);
      put_be16(out.data + 0, float_to_uint(static_cast<float>(q), -r.p_max, r.p_max, 16));
      put_be16(out.data + 2, float_to_uint(static_cast<float>(dq), -r.v_max, r.v_max, 16));
      put_be16(out.data + 4, float_to_uint(static_cast<float>(kp), 0.0f, r.kp_max, 16));
      put_be16(out.data + 6, float_to_uint(static_cast<float>(kd), 0.0f, r.kd_max, 16));
      return;
    }
  }
}

bool encode_special(Protocol protocol, Special kind, std::uint32_t device_id, std::uint32_t host_id, Frame& out) {
  clear(out);
  out.len = 8;
  switch (protocol) {
    case Protocol::kMitReference:
    case Protocol::kCubeMars:
    case Protocol::kDamiao: {
      if (kind == Special::kClearError && protocol != Protocol::kDamiao) return false;
      out.id = device_id & 0x7FF;
      std::memset(out.data, 0xFF, 7);
      static constexpr std::uint8_t last[] = {0xFC, 0xFD, 0xFE, 0xFB};
      out.data[7] = last[static_cast<int>(kind)];
      return true;
    }
    case Protocol::kRobstride: {
      std::uint32_t type = kRobstrideEnable;
      if (kind == Special::kExit || kind == Special::kClearError) type = kRobstrideStop;
      if (kind == Special::kZero) type = kRobstrideZero;
      out.extended = true;
      out.id = (type << 24) | ((host_id & 0xFFFF) << 8) | (device_id & 0xFF);
      // Stop with byte 0 = 1 also clears faults; zero needs byte 0 = 1.
      if (kind == Special::kClearError || kind == Special::kZero) out.data[0] = 1;
      return true;
    }
    case Protocol::kMyActuator:
      if (kind == Special::kEnter || kind == Special::kClearError) return false;
      out.id = (kMyActuatorSystemBase + device_id) & 0x7FF;
      out.data[0] = kind == Special::kExit ? kMyActuatorShutdown : kMyActuatorZeroToRom;
      return true;
  }
  return false;
}

std::uint32_t reply_id(Protocol protocol, std::uint32_t device_id, std::uint32_t host_id, bool* extended) {
  *extended = false;
  switch (protocol) {
    case Protocol::kMitReference:
    case Protocol::kCubeMars:
    case Protocol::kDamiao:
      return host_id & 0x7FF;
    case Protocol::kMyActuator:
      return (kMyActuatorReplyBase + device_id) & 0x7FF;
    case Protocol::kRobstride:
      *extended = true;
      return (kRobstrideFeedback << 24) | ((device_id & 0xFF) << 8) | (host_id & 0xFF);
  }
  return 0;
}

std::uint32_t reply_id_mask(Protocol protocol) {
  // Robstride feedback carries mode and fault bits in ID bits 23..16.
  return protocol == Protocol::kRobstride ? 0x1F00FFFFu : 0x1FFFFFFFu;
}

DecodeResult decode_reply(Protocol protocol, const MitRanges& r, std::uint32_t device_id, const Frame& in,
                          Reply& out) {
  const std::uint8_t* d = in.data;
  switch (protocol) {
    case Protocol::kMitReference:
    case Protocol::kMyActuator:
      if (in.extended || in.len < 6) return DecodeResult::kMalformed;
      if (protocol == Protocol::kMyActuator && in.len != 8) return DecodeResult::kMalformed;
      if (d[0] != (device_id & 0xFF)) return DecodeResult::kWrongId;
      out.device_id = d[0];
      decode_pvt(r, d, out);
      out.temperature_c = std::numeric_limits<double>::quiet_NaN();
      out.error = 0;
      return DecodeResult::kOk;
    case Protocol::kCubeMars:
      if (in.extended || in.len != 8) return DecodeResult::kMalformed;
      if (d[0] != (device_id & 0xFF)) return DecodeResult::kWrongId;
      out.device_id = d[0];
      decode_pvt(r, d, out);
      out.temperature_c = static_cast<double>(static_cast<std::int8_t>(d[6]));
      out.error = d[7];
      return DecodeResult::kOk;
    case Protocol::kDamiao: {
      if (in.extended || in.len != 8) return DecodeResult::kMalformed;
      if ((d[0] & 0xF) != (device_id & 0xF)) return DecodeResult::kWrongId;
      out.device_id = d[0] & 0xF;
      decode_pvt(r, d, out);
      out.temperature_c = d[6] > d[7] ? d[6] : d[7];
      const std::uint16_t state = d[0] >> 4;  // 0 disabled, 1 enabled, 8..14 errors
      out.error = state >= 8 ? state : 0;
      return DecodeResult::kOk;
    }
    case Protocol::kRobstride: {
      if (!in.extended || in.len != 8 || ((in.id >> 24) & 0x1F) != kRobstrideFeedback) return DecodeResult::kMalformed;
      if (((in.id >> 8) & 0xFF) != (device_id & 0xFF)) return DecodeResult::kWrongId;
      out.device_id = (in.id >> 8) & 0xFF;
      out.q = uint_to_float(be16(d + 0), -r.p_max, r.p_max, 16);
      out.dq = uint_to_float(be16(d + 2), -r.v_max, r.v_max, 16);
      out.tau = uint_to_float(be16(d + 4), -r.t_max, r.t_max, 16);
      out.temperature_c = be16(d + 6) * 0.1;
      out.error = static_cast<std::uint16_t>((in.id >> 16) & 0x3F);
      return DecodeResult::kOk;
    }
  }
  return DecodeResult::kMalformed;
}

}  // namespace humanoid_rt::can
