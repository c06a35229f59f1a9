"""The sandbox: a local AWS organisation on moto with the template deployed (DESIGN.md section 5).

    from backup_events_aws.sandbox import Organization

    with Organization.minimum() as org:
        ...

Parts: `clock` (simulated time), `backup` (AWS Backup emulation), `cloudformation`
(resource types moto skips), `bridge` (EventBridge delivery), `lambda_runtime`
(asynchronous Lambda running the deployed code), `organization` (all of it together).
"""

from .bridge import Bridge, Delivery, Faults
from .clock import Clock
from .organization import Layout, Organization, StackInstance, minimum_layout, typical_layout

__all__ = ["Bridge", "Clock", "Delivery", "Faults", "Layout", "Organization", "StackInstance",
           "minimum_layout", "typical_layout"]
