"""Test support shared by every suite: finding real services, unique names."""
