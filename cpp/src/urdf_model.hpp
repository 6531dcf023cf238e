// The URDF as a Pinocchio model and the config's joints inside it.
//
// Every model-based part of the cycle (whole-body impedance, contact QP, base estimator, fall detector)
// builds its own Pinocchio model from the same URDF, fixed-base or with a free-flyer root, and maps the
// config's joint order onto the model's configuration and velocity indices. One place for that mapping
// and its checks, so the parts cannot disagree and a bad config gets the same message from each.
// Construction only (allocates, throws); never on the loop thread.
#pragma once

#include <string>
#include <vector>

#include <pinocchio/multibody/model.hpp>

namespace humanoid_rt {

enum class ModelRoot { kFixed, kFreeFlyer };

// Throws std::invalid_argument naming `model.urdf` when the file cannot be parsed.
pinocchio::Model load_urdf_model(const std::string& urdf_path, ModelRoot root);

// Config joint j -> model index: q[j] into the configuration vector, v[j] into the velocity vector.
struct ConfigJointIndices {
  std::vector<int> q, v;
};

// Checks (errors name `joints`): at most kMaxJoints joints; each a 1-DoF joint of the model (revolute
// or prismatic); every moving joint of the model listed, since a joint the config does not drive would
// be frozen at zero in every model computation.
ConfigJointIndices index_config_joints(const pinocchio::Model& model, const std::vector<std::string>& joint_names,
                                       const std::string& urdf_path);

}  // namespace humanoid_rt
