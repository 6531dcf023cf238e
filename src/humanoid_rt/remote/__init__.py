"""Beyond one machine: humanoid_rt over Eclipse Zenoh (remote policy inference: policy_server.py,
remote_chunks.py, reference_policy.py, policy_wire.py)."""
