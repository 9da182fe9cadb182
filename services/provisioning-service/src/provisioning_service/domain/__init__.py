"""The provisioning domain: launches, outcomes, rejections. Standard library only."""
