// Pure codecs of the MIT ("mini cheetah") actuator protocol family: bytes in, values out.
//
// No I/O, no state, no allocation: every function here is safe on the RT thread and is
// tested against golden vectors (tests/test_can_codecs.py).
//
// The family shares one command layout, 8 bytes big-endian bit fields
//   p(16) v(12) kp(12) kd(12) t(12)
// with each value mapped linearly onto its range and TRUNCATED, exactly like the
// reference firmware's float_to_uint (single-precision, (x - min) * (2^bits - 1) / span).
// The special frames FF FF FF FF FF FF FF {FB,FC,FD,FE} (clear error, enter motor mode,
// exit, zero) equal "every field at maximum"; encode_mit_payload() never emits them:
// when p, v, kp and kd all sit at their maximum code, kd is lowered by one LSB
// (KD_MAX/4095, e.g. 0.0012 Nm s/rad for a 5 Nm s/rad range), so byte 6 is never FF.
//
// Variants (sources and the protocol table in firmware_interfaces/can/README.md):
//   kMitReference  bgkatz/motorcontrol: command on ID = device; reply 6 bytes on ID = host
//                  (CAN_MASTER), [id][p16][v12 t12]; no temperature, no error field
//   kCubeMars      AK series MIT mode: as the reference, reply 8 bytes adds
//                  [temperature int8 degC][error code]
//   kDamiao        DM-J series MIT mode: command on ID = device, reply on the master ID,
//                  byte 0 = (error << 4) | (device & 0xF), bytes 6/7 = MOS / rotor temperature
//   kRobstride     RS series: 29-bit IDs, bits 28-24 = communication type. Motion command
//                  (type 1): torque u16 in ID bits 23-8, device in 7-0, data p/v/kp/kd u16 BE.
//                  Feedback (type 2): ID bits 21-16 fault flags, 15-8 device, 7-0 host;
//                  data p/v/t u16 BE + temperature u16 (0.1 degC)
//   kMyActuator    RMD motion mode (protocol V4.3): command on 0x400 + device, reply on
//                  0x500 + device, [id][p16][v12 t12]; no temperature, no error field
#pragma once

#include <cstddef>
#include <cstdint>

namespace humanoid_rt::can {

enum class Protocol : std::uint8_t {
  kMitReference = 0,
  kCubeMars = 1,
  kDamiao = 2,
  kRobstride = 3,
  kMyActuator = 4,
};
inline constexpr int kProtocolCount = 5;
const char* to_string(Protocol p);

// Value ranges of one motor model: p, v, t symmetric around 0, kp and kd from 0.
struct MitRanges {
  float p_max = 12.5f;   // rad
  float v_max = 45.0f;   // rad/s
  float kp_max = 500.0f; // Nm/rad
  float kd_max = 5.0f;   // Nm s/rad
  float t_max = 18.0f;   // Nm
};
MitRanges default_ranges(Protocol p);

// One CAN or CAN-FD frame, independent of the kernel's structs.
struct Frame {
  std::uint32_t id = 0;   // 11- or 29-bit identifier, no flags
  bool extended = false;  // 29-bit identifier
  std::uint8_t len = 0;   // payload bytes
  std::uint8_t data[64]{};
};

// What a reply carries, motor side, SI units.
struct Reply {
  std::uint32_t device_id = 0;
  double q = 0.0, dq = 0.0, tau = 0.0;
  double temperature_c = 0.0;  // NaN when the protocol does not report it
  std::uint16_t error = 0;     // 0 = no error; else the drive's code or fault bits
};

enum class Special : std::uint8_t { kEnter = 0, kExit = 1, kZero = 2, kClearError = 3 };

enum class DecodeResult : std::uint8_t {
  kOk = 0,
  kMalformed = 1,  // wrong length or frame kind for this protocol
  kWrongId = 2,    // well formed, but names another device
};

// The reference firmware's conversions, single precision and in its operation order.
// Inputs are clamped to [min, max]; NaN encodes as 0 clamped into the range.
std::uint32_t float_to_uint(float x, float x_min, float x_max, int bits);
float uint_to_float(std::uint32_t x, float x_min, float x_max, int bits);

// The 8-byte MIT command payload (never a special-frame pattern).
void encode_mit_payload(const MitRanges& r, double q, double dq, double kp, double kd, double tau,
                        std::uint8_t out[8]);

// The command frame of `protocol` for device `device_id` (host_id: Robstride host).
void encode_command(Protocol protocol, const MitRanges& r, std::uint32_t device_id, std::uint32_t host_id,
                    double q, double dq, double kp, double kd, double tau, Frame& out);

// Enter/exit motor mode, zero position, clear error. Returns false when the protocol has no
// such frame (MyActuator motion mode needs no enter frame and has no clear-error frame).
bool encode_special(Protocol protocol, Special kind, std::uint32_t device_id, std::uint32_t host_id, Frame& out);

// The identifier a device's replies arrive on (extended: the reply uses a 29-bit ID).
// For Robstride the ID also carries fault bits, so matching masks them (reply_id_mask).
std::uint32_t reply_id(Protocol protocol, std::uint32_t device_id, std::uint32_t host_id, bool* extended);
std::uint32_t reply_id_mask(Protocol protocol);

// Decodes a status reply of `protocol` that must come from `device_id`.
DecodeResult decode_reply(Protocol protocol, const MitRanges& r, std::uint32_t device_id, const Frame& in,
                          Reply& out);

}  // namespace humanoid_rt::can
