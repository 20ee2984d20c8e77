"""Kernel-side toolbox: the perception and geometry primitives the model calls (installed as ``spatialclaw.primitives``)."""
