"""The token service's domain: launch details, roles, sessions. Stdlib only."""
