"""The perception service: one process that loads each model once and computes perception for
every kernel on the machine, the only writer of the shared perception cache.

`protocol` (the wire format and the checks on every request), `folder` (the private folder of
socket and token), `server` (`PerceptionService`), `client` (`ServiceClient`, `ManagedService`),
`address` (`service_for`: the ``--perception-service`` setting → a client), `relay` (the host's
handler of a kernel's ``host_call("perception")``), `serve` (the command line of ``spatialclaw
perception serve``), `ray_deployment` + `ray_client` (the same service as a Ray Serve
application, for several GPUs or machines).
"""
