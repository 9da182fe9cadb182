"""Provisioning service: creates POS users and memberships from redeemed launches."""
