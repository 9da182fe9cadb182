"""The provisioning service's error tree: flat, each class with a stable code."""


class ProvisioningError(Exception):
    """Base of every error the provisioning service raises on purpose."""

    code = "provisioning_error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.code)


class InvalidLaunch(ProvisioningError):
    """A launch that no retry can make valid (empty ids, a malformed field)."""

    code = "launch_invalid"


class StoreUnavailable(ProvisioningError):
    """The database failed, timed out or deadlocked: worth retrying later."""

    code = "store_unavailable"


class UnknownPartner(ProvisioningError):
    """An operator named a partner that does not exist."""

    code = "partner_unknown"


class UnknownLocation(ProvisioningError):
    """An operator named a location that does not exist."""

    code = "location_unknown"


class PartnerClientFailed(ProvisioningError):
    """Cognito refused or failed to create or delete a partner's app client."""

    code = "partner_client_failed"


class BusUnavailable(ProvisioningError):
    """The broker was unreachable or did not confirm a publish."""

    code = "bus_unavailable"
