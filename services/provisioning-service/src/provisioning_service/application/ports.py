"""Ports the provisioning use cases depend on; adapters implement them.

Every port raises only the errors named in its docstring; adapters translate
driver errors (asyncpg) with `raise ... from`.
"""

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from provisioning_service.domain.directory import (
    Directory,
    DirectoryChange,
    PartnerStatus,
    UserListing,
)
from provisioning_service.domain.launch import Launch, Outcome


class ProvisioningStore(Protocol):
    """Creates or finds the POS user and membership of one launch.

    One transaction per call, idempotent by `jti`: a `jti` already processed
    returns the stored result and writes nothing, so redeliveries and
    concurrent duplicates get the same answer. The user is created on the
    first launch of (partner, external user id) and the membership on the
    first launch at a location; later launches never change the role, and
    change the display name only for partners that opted in. An unknown
    partner, a location not granted, or a suspended partner returns a
    `Rejection` and writes nothing. A new `jti` whose `provision_by` has
    passed by the database's clock, at the moment of writing, returns
    `Abandoned` and writes nothing. Raises `StoreUnavailable` on a transient
    database failure and `InvalidLaunch` when the database refuses the data.
    """

    async def provision(self, launch: Launch) -> Outcome: ...


class DirectoryReader(Protocol):
    """Reads every partner with its status and grants, at one version.

    The version and the partners come from one consistent snapshot. Raises
    `StoreUnavailable` on a database failure.
    """

    async def read(self) -> Directory: ...


class DirectoryAdmin(Protocol):
    """Operators' changes to partners, locations and grants.

    Every method is idempotent and returns whether it changed anything; each
    change to a partner or its grants bumps the directory version in the same
    transaction and is then listed in `committed`, with the partner's full
    state read in that transaction, for `DirectoryEvents`. Raises
    `UnknownPartner` / `UnknownLocation` for a missing reference and
    `StoreUnavailable` on a database failure.
    """

    async def create_partner(self, partner_id: str, name: str) -> bool: ...

    async def partner_named(self, name: str) -> str | None:
        """The id of the oldest partner called `name`, ignoring case, if any."""
        ...

    def creating_partner(self) -> AbstractAsyncContextManager[None]:
        """Held around a name check and `create_partner`: one at a time, anywhere."""
        ...

    async def set_partner_status(
        self, partner_id: str, status: PartnerStatus
    ) -> bool: ...

    async def create_location(self, location_id: str, name: str) -> bool: ...

    async def grant(self, partner_id: str, location_id: str) -> bool: ...

    async def revoke(self, partner_id: str, location_id: str) -> bool:
        """Withdraw a grant; memberships stay, but no launch can use them."""
        ...

    async def set_name_updates(self, partner_id: str, enabled: bool) -> bool:
        """Whether a launch's display_name replaces the stored one (DESIGN §8)."""
        ...

    @property
    def committed(self) -> list[DirectoryChange]: ...

    async def users(self, partner_id: str) -> list[UserListing]:
        """The partner's users, oldest first, each with its memberships."""
        ...


class DirectoryEvents(Protocol):
    """Announces committed directory changes to the token services (DESIGN §7.2).

    `publish` sends each change as `directory.partner_changed`, persistent and
    publisher-confirmed, in the order given. Raises `BusUnavailable` when the
    broker is unreachable or does not confirm; the change stays committed and
    the token services' periodic snapshot catches it up.
    """

    async def publish(self, changes: list[DirectoryChange]) -> None: ...


class PartnerClients(Protocol):
    """Creates and deletes partners' OAuth2 app clients at the identity provider.

    A created client has only the client-credentials grant and the launch
    scope (DESIGN §3.1); its id is the partner id. Raises
    `PartnerClientFailed` when the provider refuses or cannot be reached.
    """

    def create(self, name: str) -> tuple[str, str]:
        """Returns (client id, client secret); the secret is never stored here."""
        ...

    def delete(self, client_id: str) -> None: ...
