#include "urdf_model.hpp"

#include <stdexcept>

#include <pinocchio/parsers/urdf.hpp>

#include "humanoid_rt/types.hpp"

namespace humanoid_rt {

pinocchio::Model load_urdf_model(const std::string& urdf_path, ModelRoot root) {
  pinocchio::Model model;
  try {
    if (root == ModelRoot::kFreeFlyer)
      pinocchio::urdf::buildModel(urdf_path, pinocchio::JointModelFreeFlyer(), model);
    else
      pinocchio::urdf::buildModel(urdf_path, model);
  } catch (const std::exception& e) {
    throw std::invalid_argument("model.urdf: cannot load " + urdf_path + " (" + e.what() + ")");
  }
  return model;
}

ConfigJointIndices index_config_joints(const pinocchio::Model& model, const std::vector<std::string>& joint_names,
                                       const std::string& urdf_path) {
  if (joint_names.size() > static_cast<std::size_t>(kMaxJoints))
    throw std::invalid_argument("joints: too many joints for the core (allowed: 1.." + std::to_string(kMaxJoints) + ")");
  ConfigJointIndices indices;
  std::vector<bool> listed(model.njoints, false);
  for (const auto& name : joint_names) {
    if (!model.existJointName(name)) throw std::invalid_argument("joints: '" + name + "' is not a joint of " + urdf_path);
    const auto id = model.getJointId(name);
    if (model.joints[id].nq() != 1 || model.joints[id].nv() != 1)
      throw std::invalid_argument("joints: '" + name + "' is not a 1-DoF joint (revolute or prismatic)");
    listed[id] = true;
    indices.q.push_back(model.joints[id].idx_q());
    indices.v.push_back(model.joints[id].idx_v());
  }
  // Joint 0 is the universe; a free-flyer root is joint 1 and moves by itself, not by the config.
  const bool free_flyer = model.njoints > 1 && model.joints[1].nv() == 6;
  for (pinocchio::JointIndex id = free_flyer ? 2 : 1; id < static_cast<pinocchio::JointIndex>(model.njoints); ++id)
    if (!listed[id])
      throw std::invalid_argument("joints: the URDF joint '" + model.names[id] +
                                  "' moves but is not in the config; list every moving joint");
  return indices;
}

}  // namespace humanoid_rt
