"""The port through which adapters count and time what operators watch (DESIGN §11).

The use cases stay free of it: outcomes are counted where they are already
translated (the HTTP handlers, the outbound adapters). Every label value
comes from a bounded set: error codes, operation names, dependency names.
"""

from typing import Final, Protocol

MINTED: Final = "minted"
# A retry answered with the link an Idempotency-Key already minted: timed only.
REPLAYED: Final = "replayed"
REDEEMED: Final = "redeemed"
REOPENED: Final = "reopened"


class LaunchMetrics(Protocol):
    """Records outcomes and latencies; never raises, never blocks, costs microseconds.

    `seconds` is wall time measured by the caller with a monotonic clock.
    """

    def mint_finished(self, outcome: str, seconds: float) -> None:
        """A mint request answered: `MINTED`, `REPLAYED` or the refusal's code."""

    def redemption_finished(self, outcome: str, seconds: float) -> None:
        """A launch link opened: `REDEEMED`, `REOPENED` or the rejection's code."""

    def provisioning_answered(self, outcome: str) -> None:
        """Provisioning's answer: provisioned, rejected, timeout, unavailable, or
        late (a launch written whose wait had ended)."""

    def cognito_called(self, operation: str, outcome: str, seconds: float) -> None:
        """One Cognito API call: its operation and `ok` or the error code."""

    def dependency_called(
        self, dependency: str, operation: str, outcome: str, seconds: float
    ) -> None:
        """One call through a port: `ok`, `refused` or `unavailable`."""


class NoMetrics:
    """Records nothing: for adapters built without metrics."""

    def mint_finished(self, outcome: str, seconds: float) -> None:
        return None

    def redemption_finished(self, outcome: str, seconds: float) -> None:
        return None

    def provisioning_answered(self, outcome: str) -> None:
        return None

    def cognito_called(self, operation: str, outcome: str, seconds: float) -> None:
        return None

    def dependency_called(
        self, dependency: str, operation: str, outcome: str, seconds: float
    ) -> None:
        return None
