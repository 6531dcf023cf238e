// _core.teleop: the teleop codec as pure functions (tests, fuzzing) and the C++ receiver thread.
#include "common.hpp"

#include <cstring>
#include <numeric>
#include "humanoid_rt/teleop_protocol.hpp"
#include "humanoid_rt/teleop_receiver.hpp"

namespace humanoid_rt::bindings {

namespace {

// What Receiver::statistics() reports to Python: its counters, its two histograms and the last texts.
struct ReceiverStatisticsReport {
  teleop::ReceiverStatistics counts;
  LatencySummary send_to_receive_latency, receive_to_applied_latency;
  std::string last_rejection, last_unsupported;
};

void bind_receiver_statistics(py::module_& t) {
  namespace tp = humanoid_rt::teleop;
  using R = ReceiverStatisticsReport;
  StatisticsClass<R>(t, "ReceiverStatistics", "Receiver.statistics(): datagrams, checks, clipping and latencies.")
      .field("received", [](const R& r) { return r.counts.received; }, "datagrams")
      .field("accepted", [](const R& r) { return r.counts.accepted; }, "passed every check")
      .field("rejected", [](const R& r) {
        py::dict rejected;  // reason -> count, every reason listed
        for (int i = 1; i < static_cast<int>(tp::Reject::kCount); ++i)
          rejected[tp::to_string(static_cast<tp::Reject>(i))] = r.counts.rejected[i];
        return rejected;
      }, "reason -> datagrams rejected for it")
      .field("rejected_total", [](const R& r) {
        return std::accumulate(r.counts.rejected.begin(), r.counts.rejected.end(), std::uint64_t{0});
      })
      .field("gaps", [](const R& r) { return r.counts.gaps; }, "sequence numbers skipped within a session")
      .field("estops", [](const R& r) { return r.counts.estops; })
      .field("setpoints_written", [](const R& r) { return r.counts.setpoints_written; })
      .field("setpoints_applied", [](const R& r) { return r.counts.setpoints_applied; })
      .field("setpoints_superseded", [](const R& r) { return r.counts.setpoints_superseded; })
      .field("poses_applied", [](const R& r) { return r.counts.poses_applied; })
      .field("pose_engagements", [](const R& r) { return r.counts.pose_engagements; })
      .field("hand_unsupported", [](const R& r) { return r.counts.hand_unsupported; })
      .field("base_targets_applied", [](const R& r) { return r.counts.base_targets_applied; },
             "base target records written to the contact QP")
      .field("clipped_base_target", [](const R& r) { return r.counts.clipped_base_target; },
             "base target records clipped to model.standing.base_target")
      .field("base_target_unsupported", [](const R& r) { return r.counts.base_target_unsupported; },
             "base target packets on a robot without the contact QP (moved nothing)")
      .field("clipped_velocity", [](const R& r) { return r.counts.clipped_velocity; })
      .field("clipped_step", [](const R& r) { return r.counts.clipped_step; })
      .field("clipped_gains", [](const R& r) { return r.counts.clipped_gains; })
      .field("ramp_packets", [](const R& r) { return r.counts.ramp_packets; })
      .field("engagements", [](const R& r) { return r.counts.engagements; })
      .field("engaged", [](const R& r) { return r.counts.engaged; })
      .field("session_id", [](const R& r) { return r.counts.session_id; })
      .field("last_sequence", [](const R& r) { return r.counts.last_sequence; })
      .field("unshared_clock", [](const R& r) { return r.counts.unshared_clock; },
             "packets whose sender time is ahead of the receive time (clocks not shared)")
      .field("send_to_receive_latency", &R::send_to_receive_latency,
             "sender time to receive time (meaningful when both share CLOCK_MONOTONIC)")
      .field("receive_to_applied_latency", &R::receive_to_applied_latency, "receive time to the loop applying it")
      .field("last_rejection", &R::last_rejection)
      .field("last_unsupported", &R::last_unsupported);
}

}  // namespace

void bind_teleop(py::module_& m) {
  namespace tp = humanoid_rt::teleop;
  py::module_ t = m.def_submodule("teleop", "Teleop wire protocol (firmware_interfaces/teleop/PROTOCOL.md) and receiver.");
  auto bytes_of = [](const py::bytes& b) {
    char* data = nullptr;
    py::ssize_t len = 0;
    PyBytes_AsStringAndSize(b.ptr(), &data, &len);
    return std::pair<const std::uint8_t*, std::size_t>(reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(len));
  };
  py::list reasons;
  for (int r = 0; r < static_cast<int>(tp::Reject::kCount); ++r) reasons.append(tp::to_string(static_cast<tp::Reject>(r)));
  t.attr("REJECT_REASONS") = reasons;  // index = the reason code
  t.attr("MAX_PACKET_BYTES") = tp::kMaxPacketBytes;
  t.attr("MIN_PACKET_BYTES") = tp::kMinPacketBytes;
  t.def("sha256", [bytes_of](const py::bytes& data) {
    auto [p, n] = bytes_of(data);
    const tp::Digest d = tp::sha256(p, n);
    return py::bytes(reinterpret_cast<const char*>(d.data()), d.size());
  }, py::arg("data"));
  t.def("hmac_sha256", [bytes_of](const py::bytes& key, const py::bytes& data) {
    auto [k, kn] = bytes_of(key);
    auto [p, n] = bytes_of(data);
    tp::HmacSha256 hmac(k, kn);
    const tp::Digest d = hmac.compute(p, n);
    return py::bytes(reinterpret_cast<const char*>(d.data()), d.size());
  }, py::arg("key"), py::arg("data"));
  t.def("parse", [bytes_of](const py::bytes& data, const py::bytes& key) {
    auto [k, kn] = bytes_of(key);
    auto [p, n] = bytes_of(data);
    tp::Packet packet;
    tp::HmacSha256 hmac(k, kn);
    const tp::ParseResult r = tp::parse_packet(p, n, hmac, packet);
    py::dict d;
    d["reason"] = tp::to_string(r.reject);
    d["message"] = std::string(r.message);
    if (!r.ok()) return d;
    d["kind"] = static_cast<int>(packet.kind);
    d["flags"] = packet.flags;
    d["estop"] = packet.estop();
    d["session_id"] = packet.session_id;
    d["sequence"] = packet.sequence;
    d["sender_time_ns"] = packet.sender_time_ns;
    d["due_in_us"] = packet.due_in_us;
    d["ttl_us"] = packet.ttl_us;
    py::list records;
    for (int i = 0; i < packet.count; ++i) {
      py::dict rec;
      if (packet.kind == tp::Kind::kJoints) {
        const auto& j = packet.joints[i];
        rec["index"] = j.index, rec["q"] = j.q, rec["dq"] = j.dq, rec["tau_ff"] = j.tau_ff, rec["kp"] = j.kp, rec["kd"] = j.kd;
      } else if (packet.kind == tp::Kind::kFramePoses) {
        const auto& f = packet.poses[i];
        rec["frame_id"] = f.frame_id;
        rec["position"] = py::make_tuple(f.position[0], f.position[1], f.position[2]);
        rec["quaternion"] = py::make_tuple(f.quaternion[0], f.quaternion[1], f.quaternion[2], f.quaternion[3]);
      } else if (packet.kind == tp::Kind::kBaseTarget) {
        const auto& b = packet.base_targets[i];
        rec["height_offset_m"] = b.height_offset;
        rec["rpy"] = py::make_tuple(b.rpy[0], b.rpy[1], b.rpy[2]);
      } else {
        rec["hand"] = packet.hands[i].hand, rec["grip"] = packet.hands[i].grip;
      }
      records.append(rec);
    }
    d["records"] = records;
    return d;
  }, py::arg("data"), py::arg("key"), "Parse one datagram; returns reason ('none' when accepted), message and fields.");
  t.def("parse_batch", [bytes_of](const py::list& packets, const py::bytes& key, bool resign) {
    // For fuzzing: parse many inputs per call. resign=True first overwrites the last 32 bytes of
    // inputs >= 80 bytes with their correct tag, so mutated packets reach the field checks.
    auto [k, kn] = bytes_of(key);
    tp::HmacSha256 hmac(k, kn);
    py::array_t<std::uint8_t> codes(static_cast<py::ssize_t>(packets.size()));
    std::vector<std::uint8_t> copy(tp::kMaxPacketBytes + 4096);
    tp::Packet packet;
    for (std::size_t i = 0; i < packets.size(); ++i) {
      auto [p, n] = bytes_of(packets[i].cast<py::bytes>());
      const std::uint8_t* input = p;
      if (resign && n >= tp::kMinPacketBytes && n <= copy.size()) {
        std::copy(p, p + n, copy.begin());
        const tp::Digest tag = hmac.compute(copy.data(), n - tp::kTagBytes);
        std::copy(tag.begin(), tag.end(), copy.begin() + (n - tp::kTagBytes));
        input = copy.data();
      }
      codes.mutable_data()[i] = static_cast<std::uint8_t>(tp::parse_packet(input, n, hmac, packet).reject);
    }
    return codes;
  }, py::arg("packets"), py::arg("key"), py::arg("resign") = false);

  bind_receiver_statistics(t);
  py::class_<tp::Receiver>(t, "Receiver")
      .def(py::init([bytes_of](ControlLoop& loop, const py::bytes& key, const std::string& host, int port, int priority,
                               double start_gate_rad, double ramp_velocity_fraction, double velocity_fraction,
                               double max_step_rad, int replay_window, double poll_timeout_s,
                               const std::vector<std::tuple<int, int, double, double>>& hand_joints,
                               double pose_start_gate_m, double pose_start_gate_rad,
                               std::optional<std::array<double, 6>> pose_stiffness,
                               std::optional<std::array<double, 6>> pose_damping) {
             tp::ReceiverOptions o;
             auto [k, kn] = bytes_of(key);
             o.key.assign(k, k + kn);
             o.host = host, o.port = port, o.priority = priority, o.start_gate_rad = start_gate_rad;
             o.ramp_velocity_fraction = ramp_velocity_fraction, o.velocity_fraction = velocity_fraction;
             o.max_step_rad = max_step_rad, o.replay_window = replay_window, o.poll_timeout_s = poll_timeout_s;
             for (const auto& [hand, joint, open_q, closed_q] : hand_joints) o.hand_joints.push_back({hand, joint, open_q, closed_q});
             o.pose_start_gate_m = pose_start_gate_m, o.pose_start_gate_rad = pose_start_gate_rad;
             if (pose_stiffness) o.pose_stiffness = *pose_stiffness;
             if (pose_damping) o.pose_damping = *pose_damping;
             return std::make_unique<tp::Receiver>(loop, o);
           }),
           py::arg("loop"), py::arg("key"), py::arg("host") = "127.0.0.1", py::arg("port") = 0, py::arg("priority") = 0,
           py::arg("start_gate_rad") = 0.8, py::arg("ramp_velocity_fraction") = 0.25, py::arg("velocity_fraction") = 1.0,
           py::arg("max_step_rad") = 0.5, py::arg("replay_window") = 64, py::arg("poll_timeout_s") = 0.002,
           py::arg("hand_joints") = std::vector<std::tuple<int, int, double, double>>{},
           py::arg("pose_start_gate_m") = 0.3, py::arg("pose_start_gate_rad") = 0.8,
           py::arg("pose_stiffness") = std::nullopt, py::arg("pose_damping") = std::nullopt,
           py::keep_alive<1, 2>())
      .def("start", &tp::Receiver::start)
      .def("stop", &tp::Receiver::stop, py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("port", &tp::Receiver::port)
      .def_property_readonly("running", &tp::Receiver::running)
      .def_property_readonly("sched_fifo", &tp::Receiver::sched_fifo)
      .def("statistics", [](const tp::Receiver& r) {
        return ReceiverStatisticsReport{r.statistics(), summarize(r.transit_latency()), summarize(r.applied_latency()),
                                        r.last_rejection(), r.last_unsupported()};
      });
}

}  // namespace humanoid_rt::bindings
