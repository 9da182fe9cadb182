"""Root of every test suite: loads the shared fixtures from tests/testsupport."""

pytest_plugins = [
    "testsupport.services",
    "testsupport.names",
    "testsupport.postgres",
    "testsupport.cognito",
    "testsupport.stack",
]
