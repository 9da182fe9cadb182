"""Use cases of the token service and the ports they need."""
