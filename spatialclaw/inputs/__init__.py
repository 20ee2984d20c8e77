"""Inputs: frames (`frame`), loading and sampling with the frame cache (`load`), video decoding
(`video`) and the ScanNet RGB-D layout (`rgbd`)."""
