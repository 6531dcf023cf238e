"""Reading an episode back: metadata, and each stream as numpy columns.

    episode = read_episode("SESSION/episodes/episode_000003.mcap")
    episode.metadata["episode"]["task"], episode.outcome
    joints = episode.streams["/joints"]      # {"monotonic_ns": (k,), "q": (k, n), ...}
    episode.streams["/devices/ft_left"]["wrench"]       # (k, 6)
    episode.messages["/supervisor/events"]              # decoded messages (low-rate streams)

Fixed-layout streams are decoded with numpy from the schema's layout; every stream
can also be decoded message by message with mcap-ros2-support (tests check both agree).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from .schemas import PRIMITIVES, Field, PackedMessage


def packed_layout(name: str, definition: str) -> PackedMessage | None:
    """The PackedMessage a ros2msg definition describes, or None if it has strings or unbounded arrays."""
    fields = []
    for raw in definition.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        type_part, _, field_name = line.partition(" ")
        base, _, length = type_part.partition("[")
        if base not in PRIMITIVES or "=" in field_name:
            return None
        if length:
            length = length.rstrip("]")
            if not length.isdigit():
                return None
        fields.append(Field(field_name.strip(), base, int(length) if length else 0))
    return PackedMessage(name, fields)


@dataclass
class Episode:
    path: Path
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    streams: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # fixed-layout topics
    messages: dict[str, list[Any]] = field(default_factory=dict)           # the other topics, decoded
    attachments: dict[str, bytes] = field(default_factory=dict)
    channel_metadata: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def info(self) -> dict[str, str]:
        return self.metadata.get("episode", {})

    @property
    def outcome(self) -> str | None:
        return self.metadata.get("outcome", {}).get("outcome")

    @property
    def joint_names(self) -> list[str]:
        return json.loads(self.info.get("joint_names", "[]"))


def read_episode(path: str | Path, topics: list[str] | None = None) -> Episode:
    """Everything in an episode file (or only `topics`)."""
    path = Path(path)
    episode = Episode(path)
    rows: dict[str, list[bytes]] = {}
    layouts: dict[str, PackedMessage] = {}
    decoders = DecoderFactory()
    with open(path, "rb") as f:
        reader = make_reader(f)
        for record in reader.iter_metadata():
            episode.metadata[record.name] = dict(record.metadata)
        for record in reader.iter_attachments():
            episode.attachments[record.name] = bytes(record.data)
        for schema, channel, message in reader.iter_messages(topics=topics, log_time_order=True):
            topic = channel.topic
            if topic not in layouts and topic not in episode.messages:
                episode.channel_metadata[topic] = dict(channel.metadata)
                layout = packed_layout(schema.name, schema.data.decode())
                if layout is not None:
                    layouts[topic] = layout
                    rows[topic] = []
                else:
                    episode.messages[topic] = []
            if topic in layouts:
                rows[topic].append(message.data)
            else:
                episode.messages[topic].append(decoders.decoder_for(channel.message_encoding, schema)(message.data))
    for topic, layout in layouts.items():
        data = np.frombuffer(b"".join(rows[topic]), dtype=layout.dtype)
        # Device columns keep their sample shape (a taxel grid, say): stored with the channel.
        shapes = json.loads(episode.channel_metadata[topic].get("shapes", "{}"))
        episode.streams[topic] = {f.name: np.array(data[f.name]).reshape(len(data), *shapes[f.name])
                                  if f.name in shapes else np.array(data[f.name]) for f in layout.fields}
    return episode
