"""The service's HTTP routes, one router per area; each gets the service state as a dependency."""

from pos.service.routes import campaigns, counter, office, pushes

__all__ = ["campaigns", "counter", "office", "pushes"]
