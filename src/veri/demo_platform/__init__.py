"""A local stand-in for YouTube, Instagram, TikTok and Twitch: an OAuth2 provider (consent page,
PKCE, expiring access tokens, refresh, revocation) and each platform's API shapes and metric
names, serving simulated accounts whose posts and numbers grow, with rate limits, injectable
faults and signed webhooks. Veri's real connector code talks to it over HTTP exactly as it would
to a platform. It is its own service: it imports nothing of Veri but the simulator's numbers."""

from veri.demo_platform.app import create_demo_platform
from veri.demo_platform.config import DemoClient, DemoConfig, Faults
from veri.demo_platform.server import DemoPlatformServer

__all__ = ["DemoClient", "DemoConfig", "DemoPlatformServer", "Faults", "create_demo_platform"]
