"""The port through which the consumer counts and times what operators watch.

The use cases stay free of it: the AMQP adapter counts each message's
outcome where its policy decides it. Label values come from bounded sets.
"""

from typing import Protocol


class ConsumerMetrics(Protocol):
    """Records message outcomes and latencies; never raises, never blocks."""

    def message_processed(self, outcome: str, seconds: float) -> None:
        """One message settled: provisioned, rejected, requeued or dead_lettered."""

    def message_dead_lettered(self, reason: str) -> None:
        """A message sent to the dead-letter queue, with the policy's reason."""


class NoMetrics:
    """Records nothing: for consumers built without metrics."""

    def message_processed(self, outcome: str, seconds: float) -> None:
        return None

    def message_dead_lettered(self, reason: str) -> None:
        return None
