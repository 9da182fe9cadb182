"""What the token and provisioning services must agree on, and nothing more."""
