// The teleop wire protocol, version 1: a pure codec (bytes in, values out).
//
// The byte table, the rules and test vectors are in firmware_interfaces/teleop/PROTOCOL.md;
// this file is its executable form. Little-endian, no implicit padding:
//
//   header (48 bytes) | count records of record_bytes | HMAC-SHA256 tag (32 bytes)
//
// The tag authenticates every byte before it with a pre-shared key.
// parse_packet() checks, in this order (PROTOCOL.md's rules 1-6): size bounds
// (truncated, oversized), the length the header declares (truncated, oversized),
// magic, version, the tag (bad_auth), then every field (bad_field, with the
// field's name and allowed values in the message). It
// never reads outside [data, data + len) and allocates nothing itself (the tag check is
// libcrypto's: see teleop_hmac.hpp).
//
// Threads: pure functions of their arguments; any thread, each with its own HmacSha256.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "humanoid_rt/teleop_hmac.hpp"

namespace humanoid_rt::teleop {

inline constexpr std::uint8_t kMagic[4] = {'H', 'R', 'T', 'P'};
inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kHeaderBytes = 48;
inline constexpr std::size_t kTagBytes = 32;
inline constexpr std::size_t kJointRecordBytes = 24;
inline constexpr std::size_t kPoseRecordBytes = 32;
inline constexpr std::size_t kHandRecordBytes = 8;
inline constexpr std::size_t kBaseTargetRecordBytes = 16;
inline constexpr int kMaxJointRecords = 64;
inline constexpr int kMaxPoseRecords = 16;
inline constexpr int kMaxHandRecords = 2;
inline constexpr int kMaxBaseTargetRecords = 1;
inline constexpr std::size_t kMinPacketBytes = kHeaderBytes + kTagBytes;                                   // 80
inline constexpr std::size_t kMaxPacketBytes = kHeaderBytes + kMaxJointRecords * kJointRecordBytes + kTagBytes;  // 1616

enum class Kind : std::uint8_t { kJoints = 1, kFramePoses = 2, kHands = 3, kBaseTarget = 4 };

enum Flags : std::uint16_t {
  kFlagEstop = 1u << 0,
  kFlagVelocity = 1u << 1,
  kFlagTauFf = 1u << 2,
  kFlagGains = 1u << 3,
  kFlagsKnown = 0x000f,
};

// Limits on field values (beyond them: bad_field).
inline constexpr std::uint32_t kMaxDueInUs = 1000000;      // 1 s
inline constexpr std::uint32_t kMinTtlUs = 1000;           // 1 ms
inline constexpr std::uint32_t kMaxTtlUs = 10000000;       // 10 s
inline constexpr double kMaxAbsQ = 100.0;                  // [rad]
inline constexpr double kMaxAbsDq = 1000.0;                // [rad/s]
inline constexpr double kMaxAbsTauFf = 10000.0;            // [Nm]
inline constexpr double kMaxKp = 100000.0;                 // [Nm/rad]
inline constexpr double kMaxKd = 10000.0;                  // [Nm s/rad]
inline constexpr double kMaxAbsPosition = 100.0;           // [m]
inline constexpr double kQuaternionNormTolerance = 1e-3;
inline constexpr double kMaxAbsBaseHeight = 1.0;           // [m] wire bound of a base target's height offset
inline constexpr double kMaxAbsBaseAngle = 3.14159265358979323846;  // [rad] wire bound of its roll/pitch/yaw

// Why a packet was not applied. Stable numbers (statistics, logs, the spec).
enum class Reject : std::uint8_t {
  kNone = 0,
  kTruncated = 1,        // shorter than 80 bytes, or than its header declares
  kOversized = 2,        // longer than 1616 bytes, or than its header declares
  kBadMagic = 3,
  kBadVersion = 4,
  kBadAuth = 5,          // the HMAC-SHA256 tag does not match (forged, corrupted, wrong key)
  kBadField = 6,         // a field outside its allowed values (the message names it)
  kReplayed = 7,         // (session, sequence) already seen, older than the window, or a retired session
  kReordered = 8,        // older than the newest packet of the session but inside the window: latest wins
  kSessionConflict = 9,  // another session is streaming (alive); a new one may take over after its TTL
  kExpired = 10,         // arrived later than its TTL after it was sent (by the receiver's clock mapping)
  kStartGate = 11,       // first target of an engagement too far from the measured pose
  kNotActive = 12,       // the supervisor does not take setpoints (not ACTIVE or HOLD)
  kCount = 13,
};
const char* to_string(Reject r);

struct JointRecord {
  std::uint16_t index = 0;
  float q = 0, dq = 0, tau_ff = 0, kp = 0, kd = 0;
};
struct PoseRecord {
  std::uint16_t frame_id = 0;
  float position[3] = {0, 0, 0};     // [m], in the frame the robot config names for frame_id
  float quaternion[4] = {1, 0, 0, 0};  // w, x, y, z (unit)
};
struct HandRecord {
  std::uint8_t hand = 0;  // 0 left, 1 right
  float grip = 0;         // 0 open .. 1 closed
};

// A pelvis target of a standing robot (kind 4): the robot's configured limits clip it (counted), the
// wire bounds above reject it (bad_field).
struct BaseTargetRecord {
  float height_offset = 0;           // [m] from the standing anchor, < 0 lowers the pelvis
  float rpy[3] = {0, 0, 0};          // roll, pitch, yaw [rad] in the stance frame (R = Rz Ry Rx)
};

struct Packet {
  Kind kind = Kind::kJoints;
  std::uint16_t flags = 0;
  std::uint64_t session_id = 0;
  std::uint64_t sequence = 0;
  std::int64_t sender_time_ns = 0;
  std::uint32_t due_in_us = 0;
  std::uint32_t ttl_us = 0;
  int count = 0;
  std::array<JointRecord, kMaxJointRecords> joints{};
  std::array<PoseRecord, kMaxPoseRecords> poses{};
  std::array<HandRecord, kMaxHandRecords> hands{};
  std::array<BaseTargetRecord, kMaxBaseTargetRecords> base_targets{};
  bool estop() const { return flags & kFlagEstop; }
};

struct ParseResult {
  Reject reject = Reject::kNone;
  char message[160] = {};  // empty when accepted; else "field: problem; allowed: ..."
  bool ok() const { return reject == Reject::kNone; }
};

ParseResult parse_packet(const std::uint8_t* data, std::size_t len, HmacSha256& key, Packet& out);

}  // namespace humanoid_rt::teleop
