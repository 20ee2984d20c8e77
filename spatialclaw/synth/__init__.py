"""Synthetic indoor scenes with exact ground truth, rendered with open3d RaycastingScene."""
