"""A partner and a browser talking to a running stack, for end-to-end tests."""

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import asyncpg
import httpx

from tilt_devstack.demo import request_partner_token
from tilt_devstack.stack import Partner, RunningStack
from tilt_shared.bus import BusNames

# One connection pool for every partner call of the run: a client per request
# costs an SSL context and a TCP handshake each, which dominates C-08's 2,000
# mints. It lives as long as the test process, so it is never left unclosed.
_PARTNER_HTTP = httpx.Client(timeout=30)


@dataclass
class PartnerClient:
    """Plays a partner backend: gets its access token once, then mints links."""

    stack: RunningStack
    partner: Partner
    _token: str = field(default="", init=False)

    @property
    def token(self) -> str:
        if not self._token:
            response = request_partner_token(self.stack.credentials(self.partner))
            response.raise_for_status()
            self._token = str(response.json()["access_token"])
        return self._token

    def mint(self, body: dict[str, Any] | None = None, **fields: Any) -> httpx.Response:
        payload = body if body is not None else self.body(**fields)
        return _PARTNER_HTTP.post(
            f"{self.stack.config.token_url}/pos/v1/launch-tokens",
            headers={"Authorization": f"Bearer {self.token}"},
            json=payload,
        )

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Any partner API call with this partner's token, e.g. `GET /pos/v1/…`."""
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return _PARTNER_HTTP.request(
            method, f"{self.stack.config.token_url}{path}", headers=headers, **kwargs
        )

    def body(self, **fields: Any) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "external_user_id": f"emp-{uuid.uuid4().hex[:10]}",
            "location_id": self.partner.location_id,
        }
        payload.update(fields)
        return payload

    def launch_url(self, **fields: Any) -> str:
        response = self.mint(**fields)
        assert response.status_code == 201, response.text
        return str(response.json()["launch_url"])


def browser(stack: RunningStack) -> httpx.Client:
    """A fresh browser: its own cookie jar, redirects not followed."""
    return httpx.Client(base_url=stack.config.token_url, timeout=20)


def count_rows(stack: RunningStack, sql: str, *args: Any) -> int:
    async def query() -> int:
        connection = await asyncpg.connect(stack.config.database_url)
        try:
            return int(await connection.fetchval(sql, *args))
        finally:
            await connection.close()

    return asyncio.run(query())


def user_and_membership_rows(
    stack: RunningStack, partner_id: str, external_user_id: str
) -> tuple[int, int]:
    users = count_rows(
        stack,
        "SELECT count(*) FROM pos_user_tbl"
        " WHERE partner_id = $1 AND external_user_id = $2",
        partner_id,
        external_user_id,
    )
    memberships = count_rows(
        stack,
        "SELECT count(*) FROM pos_user_membership_tbl m JOIN pos_user_tbl u"
        " USING (pos_user_id) WHERE u.partner_id = $1 AND u.external_user_id = $2",
        partner_id,
        external_user_id,
    )
    return users, memberships


def dead_letters(stack: RunningStack, amqp_url: str) -> list[bytes]:
    """Drains the stack's dead-letter queue, straight from `amqp_url`."""

    async def drain() -> list[bytes]:
        connection = await aio_pika.connect(amqp_url)
        try:
            channel = await connection.channel()
            names = BusNames.with_prefix(stack.config.bus_prefix)
            queue = await channel.get_queue(names.dead_letter_queue)
            bodies = []
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                bodies.append(message.body)
            return bodies
        finally:
            await connection.close()

    return asyncio.run(drain())


def until_ready(stack: RunningStack, timeout_s: float = 20) -> None:
    """Waits for the token service's /readyz to answer 200 (all dependencies up)."""
    url = f"{stack.config.token_url}/readyz"
    stack.processes.wait_http("token-service", url, timeout_s)


def redemptions(stack: RunningStack, external_user_id: str) -> int:
    """The user's rows in launch_redemption_tbl: one per provisioned launch."""
    return count_rows(
        stack,
        "SELECT count(*) FROM launch_redemption_tbl r JOIN pos_user_tbl u"
        " USING (pos_user_id) WHERE u.external_user_id = $1",
        external_user_id,
    )
