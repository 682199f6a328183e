"""The REST edge of pricing (`/api/v1`): controllers and their request and response shapes; the
controllers receive the `PricingService` as the `service` dependency."""

from soleflip.pricing.http._controllers import CONTROLLERS

__all__ = ["CONTROLLERS"]
