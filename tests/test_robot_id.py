"""A robot's fleet identity: explicit, from the environment, or derived; bad ids refused with the rule."""

import socket

import pytest

from humanoid_rt.robot import resolve_robot_id


def test_explicit_id_wins_over_environment(monkeypatch):
    monkeypatch.setenv("HUMANOID_RT_ROBOT_ID", "from-env")
    assert resolve_robot_id("g1-07", "g1") == "g1-07"
    assert resolve_robot_id(None, "g1") == "from-env"


def test_default_is_config_name_and_host(monkeypatch):
    monkeypatch.delenv("HUMANOID_RT_ROBOT_ID", raising=False)
    monkeypatch.setattr(socket, "gethostname", lambda: "rack 3/bay#2")
    assert resolve_robot_id(None, "generic_humanoid") == "generic_humanoid-rack-3-bay-2"


@pytest.mark.parametrize("bad", ["", "a/b", "*", "-leading", "x" * 65, "with space"])
def test_ids_that_cannot_be_a_key_chunk_are_refused(bad):
    with pytest.raises(ValueError, match="robot_id: .* allowed: 1-64 characters"):
        resolve_robot_id(bad, "g1")


def test_policy_is_refused_as_a_robot_id_its_keys_belong_to_the_policy_servers(monkeypatch):
    from humanoid_rt.remote.keys import RobotKeys

    with pytest.raises(ValueError, match=r"robot_id: 'policy' is reserved \(humanoid_rt/policy/\.\.\. are the "
                                         r"policy servers' Zenoh keys\); not allowed: policy"):
        resolve_robot_id("policy", "g1")
    monkeypatch.setenv("HUMANOID_RT_ROBOT_ID", "policy")
    with pytest.raises(ValueError, match="HUMANOID_RT_ROBOT_ID: 'policy' is reserved"):
        resolve_robot_id(None, "g1")
    with pytest.raises(ValueError, match="robot id: 'policy' is reserved"):
        RobotKeys("policy")
    assert resolve_robot_id("policy-1", "g1") == "policy-1"  # only the exact key chunk collides
