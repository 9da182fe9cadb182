"""Adapters of the token service: inbound HTTP; outbound Redis, AMQP, Cognito, JWS."""
