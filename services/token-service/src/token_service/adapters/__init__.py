"""Adapters of the token service: inbound (HTTP) and outbound (Redis, AMQP, Cognito, JWS)."""
