"""Development tooling: the whole product on one machine (make run, e2e tests)."""
