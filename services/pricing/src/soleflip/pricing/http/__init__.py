"""The REST edge of pricing (`/api/v1`): controllers, shapes and their injected dependencies."""

from soleflip.pricing.http._controllers import CONTROLLERS
from soleflip.pricing.http._deps import Pricing, utc_now

__all__ = ["CONTROLLERS", "Pricing", "utc_now"]
