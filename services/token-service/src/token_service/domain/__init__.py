"""The token service's domain: launch details, roles, sessions. Standard library only."""
