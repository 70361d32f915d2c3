"""The PBX simulator: a real TCP AMI server that behaves like Asterisk 20 with app_queue.

``Simulator`` generates calls (see ``pbx.py``); ``CaptureServer`` serves a recorded capture.
"""

from cti.simulator.capture import CaptureServer
from cti.simulator.config import (
    Caller,
    FeaturesConfig,
    MemberConfig,
    OutboundBehaviour,
    OutboundConfig,
    QueueConfig,
    RoutePointConfig,
    SimConfig,
)
from cti.simulator.server import Simulator

__all__ = [
    "Caller",
    "CaptureServer",
    "FeaturesConfig",
    "MemberConfig",
    "OutboundBehaviour",
    "OutboundConfig",
    "QueueConfig",
    "RoutePointConfig",
    "SimConfig",
    "Simulator",
]
