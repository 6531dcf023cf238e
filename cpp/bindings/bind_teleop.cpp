// _core.teleop: the teleop codec as pure functions (tests, fuzzing) and the C++ receiver thread.
#include "common.hpp"

#include <cstring>
#include "humanoid_rt/teleop_protocol.hpp"
#include "humanoid_rt/teleop_receiver.hpp"

namespace humanoid_rt::bindings {

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
    const tp::Digest d = tp::HmacSha256(k, kn).compute(p, n);
    return py::bytes(reinterpret_cast<const char*>(d.data()), d.size());
  }, py::arg("key"), py::arg("data"));
  t.def("parse", [bytes_of](const py::bytes& data, const py::bytes& key) {
    auto [k, kn] = bytes_of(key);
    auto [p, n] = bytes_of(data);
    tp::Packet packet;
    const tp::ParseResult r = tp::parse_packet(p, n, tp::HmacSha256(k, kn), packet);
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
    const tp::HmacSha256 hmac(k, kn);
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
        const tp::ReceiverStatistics s = r.statistics();
        py::dict d, rejected;
        d["received"] = s.received;
        d["accepted"] = s.accepted;
        for (int i = 1; i < static_cast<int>(tp::Reject::kCount); ++i)
          rejected[tp::to_string(static_cast<tp::Reject>(i))] = s.rejected[i];
        d["rejected"] = rejected;
        d["rejected_total"] = std::accumulate(s.rejected.begin(), s.rejected.end(), std::uint64_t{0});
        d["gaps"] = s.gaps;
        d["estops"] = s.estops;
        d["setpoints_written"] = s.setpoints_written;
        d["setpoints_applied"] = s.setpoints_applied;
        d["setpoints_superseded"] = s.setpoints_superseded;
        d["poses_applied"] = s.poses_applied;
        d["pose_engagements"] = s.pose_engagements;
        d["hand_unsupported"] = s.hand_unsupported;
        d["clipped_velocity"] = s.clipped_velocity;
        d["clipped_step"] = s.clipped_step;
        d["clipped_gains"] = s.clipped_gains;
        d["ramp_packets"] = s.ramp_packets;
        d["engagements"] = s.engagements;
        d["engaged"] = s.engaged;
        d["session_id"] = s.session_id;
        d["last_sequence"] = s.last_sequence;
        d["unshared_clock"] = s.unshared_clock;
        d["latency_send_to_receive"] = histogram_to_dict(r.transit_latency());
        d["latency_receive_to_applied"] = histogram_to_dict(r.applied_latency());
        d["last_rejection"] = r.last_rejection();
        d["last_unsupported"] = r.last_unsupported();
        return d;
      });
}

}  // namespace humanoid_rt::bindings
