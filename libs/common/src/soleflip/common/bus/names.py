"""Names of streams, subjects, consumers and KV buckets, under an optional deployment prefix.

A prefix lets several deployments or test runs share one NATS server without seeing each other;
it is empty in production, so the names are exactly the contract's.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Names:
    """Maps contract names (`INGEST`, `ingest.stockx.order.updated`) to their namespaced form."""

    prefix: str = ""

    def stream(self, name: str) -> str:
        return f"{self.prefix}_{name}" if self.prefix else name

    def subject(self, subject: str) -> str:
        return f"{self.prefix}.{subject}" if self.prefix else subject

    def unsubject(self, subject: str) -> str:
        """The contract subject of a namespaced one (inverse of `subject`)."""
        head = f"{self.prefix}."
        return subject[len(head) :] if self.prefix and subject.startswith(head) else subject

    def durable(self, name: str) -> str:
        return f"{self.prefix}_{name}" if self.prefix else name

    def bucket(self, name: str) -> str:
        return f"{self.prefix}_{name}" if self.prefix else name
