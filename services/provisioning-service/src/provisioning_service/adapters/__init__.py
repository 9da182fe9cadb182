"""Adapters of the provisioning service: AMQP and CLI in, PostgreSQL out."""
