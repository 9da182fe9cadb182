"""Tilt POS token service: partner API, single-use redemption and sessions."""
