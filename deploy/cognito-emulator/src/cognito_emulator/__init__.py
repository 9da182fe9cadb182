"""A local Cognito for development and tests: moto plus a token endpoint."""

from cognito_emulator.server import EmulatorHandle, start_emulator

__all__ = ["EmulatorHandle", "start_emulator"]
