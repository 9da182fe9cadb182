"""Use cases of the provisioning service and the ports they depend on."""
