#include "humanoid_rt/teleop_protocol.hpp"

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace humanoid_rt::teleop {

const char* to_string(Reject r) {
  switch (r) {
    case Reject::kNone: return "none";
    case Reject::kTruncated: return "truncated";
    case Reject::kOversized: return "oversized";
    case Reject::kBadMagic: return "bad_magic";
    case Reject::kBadVersion: return "bad_version";
    case Reject::kBadAuth: return "bad_auth";
    case Reject::kBadField: return "bad_field";
    case Reject::kReplayed: return "replayed";
    case Reject::kReordered: return "reordered";
    case Reject::kSessionConflict: return "session_conflict";
    case Reject::kExpired: return "expired";
    case Reject::kStartGate: return "start_gate";
    case Reject::kNotActive: return "not_active";
    case Reject::kCount: break;
  }
  return "unknown";
}

namespace {

// Little-endian loads from an unaligned byte pointer (the protocol fixes the byte order, not the host).
std::uint16_t u16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t u32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) | (std::uint32_t(p[3]) << 24);
}
std::uint64_t u64(const std::uint8_t* p) { return std::uint64_t(u32(p)) | (std::uint64_t(u32(p + 4)) << 32); }
float f32(const std::uint8_t* p) {
  const std::uint32_t bits = u32(p);
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

ParseResult fail(Reject reject, const char* format, ...) __attribute__((format(printf, 2, 3)));
ParseResult fail(Reject reject, const char* format, ...) {
  ParseResult r;
  r.reject = reject;
  va_list args;
  va_start(args, format);
  std::vsnprintf(r.message, sizeof r.message, format, args);
  va_end(args);
  return r;
}

bool in_range(double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; }

std::size_t record_bytes_of(std::uint8_t kind) {
  switch (kind) {
    case 1: return kJointRecordBytes;
    case 2: return kPoseRecordBytes;
    case 3: return kHandRecordBytes;
    case 4: return kBaseTargetRecordBytes;
    default: return 0;
  }
}

int max_records_of(std::uint8_t kind) {
  switch (kind) {
    case 1: return kMaxJointRecords;
    case 2: return kMaxPoseRecords;
    case 3: return kMaxHandRecords;
    case 4: return kMaxBaseTargetRecords;
    default: return 0;
  }
}

}  // namespace

ParseResult parse_packet(const std::uint8_t* data, std::size_t len, HmacSha256& key, Packet& out) {
  if (len < kMinPacketBytes)
    return fail(Reject::kTruncated, "length: %zu bytes; allowed: %zu..%zu", len, kMinPacketBytes, kMaxPacketBytes);
  if (len > kMaxPacketBytes)
    return fail(Reject::kOversized, "length: %zu bytes; allowed: %zu..%zu", len, kMinPacketBytes, kMaxPacketBytes);
  // The declared length, from count and record_bytes as they stand (not yet authenticated, not yet checked
  // against kind): a datagram cut short or padded is truncated/oversized, whatever its tag says. Cheap checks
  // first, as PROTOCOL.md orders them; a bad record_bytes or count with a matching length is a bad_field below.
  const std::size_t declared = kHeaderBytes + std::size_t(u16(data + 40)) * u16(data + 42) + kTagBytes;
  if (len < declared)
    return fail(Reject::kTruncated, "length: %zu bytes; the header declares %zu (count %u x record_bytes %u)", len,
                declared, u16(data + 40), u16(data + 42));
  if (len > declared)
    return fail(Reject::kOversized, "length: %zu bytes; the header declares %zu (count %u x record_bytes %u)", len,
                declared, u16(data + 40), u16(data + 42));
  if (std::memcmp(data, kMagic, 4) != 0)
    return fail(Reject::kBadMagic, "magic: %02x%02x%02x%02x; allowed: 48525450 (\"HRTP\")", data[0], data[1], data[2],
                data[3]);
  if (data[4] != kVersion) return fail(Reject::kBadVersion, "version: %u; allowed: %u", data[4], kVersion);
  if (!key.verify(data, len - kTagBytes, data + len - kTagBytes))
    return fail(Reject::kBadAuth, "tag: HMAC-SHA256 mismatch (forged, corrupted or signed with another key)");

  // Authenticated from here on: the rest is a sender's mistake, not an attacker's probe.
  const std::uint8_t kind = data[5];
  const std::uint16_t flags = u16(data + 6);
  const std::uint16_t count = u16(data + 40);
  const std::uint16_t record_bytes = u16(data + 42);
  if (record_bytes_of(kind) == 0)
    return fail(Reject::kBadField, "kind: %u; allowed: 1 (joints), 2 (frame poses), 3 (hands), 4 (base target)", kind);
  if (record_bytes != record_bytes_of(kind))
    return fail(Reject::kBadField, "record_bytes: %u; allowed: %zu for kind %u", record_bytes, record_bytes_of(kind),
                kind);
  if (count > max_records_of(kind))
    return fail(Reject::kBadField, "count: %u; allowed: 0..%d for kind %u", count, max_records_of(kind), kind);

  if (flags & ~kFlagsKnown)
    return fail(Reject::kBadField, "flags: 0x%04x; allowed: bits 0x000f (estop, velocity, tau_ff, gains)", flags);
  if (kind != 1 && (flags & (kFlagVelocity | kFlagTauFf | kFlagGains)))
    return fail(Reject::kBadField, "flags: 0x%04x; allowed: velocity/tau_ff/gains bits only with kind 1 (joints)",
                flags);
  if (count == 0 && !(flags & kFlagEstop))
    return fail(Reject::kBadField, "count: 0; allowed: 1..%d (0 only with the estop flag)", max_records_of(kind));
  out.kind = static_cast<Kind>(kind);
  out.flags = flags;
  out.session_id = u64(data + 8);
  out.sequence = u64(data + 16);
  out.sender_time_ns = static_cast<std::int64_t>(u64(data + 24));
  out.due_in_us = u32(data + 32);
  out.ttl_us = u32(data + 36);
  out.count = count;
  if (out.session_id == 0) return fail(Reject::kBadField, "session_id: 0; allowed: 1..2^64-1");
  if (out.sequence == 0) return fail(Reject::kBadField, "sequence: 0; allowed: 1..2^64-1");
  if (out.due_in_us > kMaxDueInUs)
    return fail(Reject::kBadField, "due_in_us: %u; allowed: 0..%u", out.due_in_us, kMaxDueInUs);
  if (out.ttl_us < kMinTtlUs || out.ttl_us > kMaxTtlUs)
    return fail(Reject::kBadField, "ttl_us: %u; allowed: %u..%u", out.ttl_us, kMinTtlUs, kMaxTtlUs);
  if (u32(data + 44) != 0) return fail(Reject::kBadField, "reserved (bytes 44..47): allowed: 0");

  const std::uint8_t* r = data + kHeaderBytes;
  if (out.kind == Kind::kJoints) {
    std::uint64_t seen = 0;  // joint indices are < 64
    for (int i = 0; i < count; ++i, r += kJointRecordBytes) {
      JointRecord& j = out.joints[i];
      j.index = u16(r);
      if (j.index >= kMaxJointRecords)
        return fail(Reject::kBadField, "joints[%d].index: %u; allowed: 0..%d", i, j.index, kMaxJointRecords - 1);
      if (seen & (1ull << j.index))
        return fail(Reject::kBadField, "joints[%d].index: %u repeated; allowed: each joint once", i, j.index);
      seen |= 1ull << j.index;
      if (u16(r + 2) != 0) return fail(Reject::kBadField, "joints[%d].reserved: allowed: 0", i);
      j.q = f32(r + 4), j.dq = f32(r + 8), j.tau_ff = f32(r + 12), j.kp = f32(r + 16), j.kd = f32(r + 20);
      if (!in_range(j.q, -kMaxAbsQ, kMaxAbsQ))
        return fail(Reject::kBadField, "joints[%d].q: %g; allowed: finite, -%g..%g rad", i, j.q, kMaxAbsQ, kMaxAbsQ);
      const bool v = flags & kFlagVelocity, t = flags & kFlagTauFf, g = flags & kFlagGains;
      if (v ? !in_range(j.dq, -kMaxAbsDq, kMaxAbsDq) : j.dq != 0.0f)
        return fail(Reject::kBadField, "joints[%d].dq: %g; allowed: %s", i, j.dq,
                    v ? "finite, -1000..1000 rad/s" : "0 (velocity flag unset)");
      if (t ? !in_range(j.tau_ff, -kMaxAbsTauFf, kMaxAbsTauFf) : j.tau_ff != 0.0f)
        return fail(Reject::kBadField, "joints[%d].tau_ff: %g; allowed: %s", i, j.tau_ff,
                    t ? "finite, -10000..10000 Nm" : "0 (tau_ff flag unset)");
      if (g ? !in_range(j.kp, 0.0, kMaxKp) : j.kp != 0.0f)
        return fail(Reject::kBadField, "joints[%d].kp: %g; allowed: %s", i, j.kp,
                    g ? "finite, 0..100000 Nm/rad" : "0 (gains flag unset)");
      if (g ? !in_range(j.kd, 0.0, kMaxKd) : j.kd != 0.0f)
        return fail(Reject::kBadField, "joints[%d].kd: %g; allowed: %s", i, j.kd,
                    g ? "finite, 0..10000 Nm s/rad" : "0 (gains flag unset)");
    }
  } else if (out.kind == Kind::kFramePoses) {
    for (int i = 0; i < count; ++i, r += kPoseRecordBytes) {
      PoseRecord& p = out.poses[i];
      p.frame_id = u16(r);
      if (u16(r + 2) != 0) return fail(Reject::kBadField, "poses[%d].reserved: allowed: 0", i);
      for (int k = 0; k < 3; ++k) {
        p.position[k] = f32(r + 4 + 4 * k);
        if (!in_range(p.position[k], -kMaxAbsPosition, kMaxAbsPosition))
          return fail(Reject::kBadField, "poses[%d].position[%d]: %g; allowed: finite, -100..100 m", i, k,
                      p.position[k]);
      }
      double norm2 = 0.0;
      for (int k = 0; k < 4; ++k) {
        p.quaternion[k] = f32(r + 16 + 4 * k);
        if (!std::isfinite(p.quaternion[k]))
          return fail(Reject::kBadField, "poses[%d].quaternion[%d]: %g; allowed: finite", i, k, p.quaternion[k]);
        norm2 += double(p.quaternion[k]) * p.quaternion[k];
      }
      if (std::abs(std::sqrt(norm2) - 1.0) > kQuaternionNormTolerance)
        return fail(Reject::kBadField, "poses[%d].quaternion: norm %g; allowed: 1 +- 0.001 (w, x, y, z)", i,
                    std::sqrt(norm2));
    }
  } else if (out.kind == Kind::kBaseTarget) {
    for (int i = 0; i < count; ++i, r += kBaseTargetRecordBytes) {
      BaseTargetRecord& b = out.base_targets[i];
      b.height_offset = f32(r);
      if (!in_range(b.height_offset, -kMaxAbsBaseHeight, kMaxAbsBaseHeight))
        return fail(Reject::kBadField, "base_target.height_offset_m: %g; allowed: finite, -1..1 m (then clipped to the "
                    "robot's limits)", b.height_offset);
      static const char* const kAxes[3] = {"roll", "pitch", "yaw"};
      for (int k = 0; k < 3; ++k) {
        b.rpy[k] = f32(r + 4 + 4 * k);
        if (!in_range(b.rpy[k], -kMaxAbsBaseAngle, kMaxAbsBaseAngle))
          return fail(Reject::kBadField, "base_target.%s_rad: %g; allowed: finite, -pi..pi rad (then clipped to the "
                      "robot's limits)", kAxes[k], b.rpy[k]);
      }
    }
  } else {
    unsigned seen = 0;
    for (int i = 0; i < count; ++i, r += kHandRecordBytes) {
      HandRecord& h = out.hands[i];
      h.hand = r[0];
      if (h.hand > 1) return fail(Reject::kBadField, "hands[%d].hand: %u; allowed: 0 (left), 1 (right)", i, h.hand);
      if (seen & (1u << h.hand))
        return fail(Reject::kBadField, "hands[%d].hand: %u repeated; allowed: each hand once", i, h.hand);
      seen |= 1u << h.hand;
      if (r[1] != 0 || u16(r + 2) != 0) return fail(Reject::kBadField, "hands[%d].reserved: allowed: 0", i);
      h.grip = f32(r + 4);
      if (!in_range(h.grip, 0.0, 1.0))
        return fail(Reject::kBadField, "hands[%d].grip: %g; allowed: finite, 0 (open)..1 (closed)", i, h.grip);
    }
  }
  return ParseResult{};
}

}  // namespace humanoid_rt::teleop
