"""Simulation: the MuJoCo digital twin's model, built from the robot's URDF."""
