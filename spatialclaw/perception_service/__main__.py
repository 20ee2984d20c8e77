"""``python -m spatialclaw.perception_service``: run a perception service (what
``spatialclaw perception serve`` and `ManagedService` start)."""

from __future__ import annotations

from spatialclaw.perception_service.serve import main

if __name__ == "__main__":
    raise SystemExit(main())
