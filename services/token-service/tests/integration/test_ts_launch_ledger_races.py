"""The Redis ledger under contention: concurrent claims and a stateful model check."""

import asyncio
import uuid
from datetime import timedelta
from typing import Any, ClassVar

import pytest
import redis.asyncio as redis
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from token_fakes import FixedClock, InMemoryLaunchLedger

from token_service.adapters.outbound.redis_launch_ledger import RedisLaunchLedger
from token_service.domain.launch import LaunchDetails

pytestmark = pytest.mark.integration
DETAILS = LaunchDetails(
    "p1", "EMP-1", None, "11111111-1111-4111-8111-111111111111", "location_cashier"
)
TTL = timedelta(seconds=600)
OWNERS = [f"o{n}" for n in range(4)]


async def test_fifty_concurrent_claims_exactly_one_wins(
    redis_url: str, unique_prefix: str
) -> None:
    """50 clients (each its own connection) claim one jti at once: one succeeds."""
    clock = FixedClock()
    clients = [redis.Redis.from_url(redis_url) for _ in range(50)]
    ledgers = [RedisLaunchLedger(client, unique_prefix) for client in clients]
    await ledgers[0].store("j1", DETAILS, clock.now() + TTL, clock.now())

    results = await asyncio.gather(
        *(ledger.claim("j1", f"o{n}", clock.now()) for n, ledger in enumerate(ledgers))
    )

    assert sum(result == DETAILS for result in results) == 1
    for client in clients:
        await client.aclose()


class LedgerMachine(RuleBasedStateMachine):
    """Random claim/release/complete/clock steps on Redis, checked against the fake."""

    redis_url: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.client = redis.Redis.from_url(self.redis_url)
        self.ledger = RedisLaunchLedger(self.client, f"hyp-{uuid.uuid4().hex}:")
        self.model = InMemoryLaunchLedger()
        self.clock = FixedClock()
        self.completions = 0
        now = self.clock.now()
        self.run(self.ledger.store("j", DETAILS, now + TTL, now))
        self.run(self.model.store("j", DETAILS, now + TTL, now))

    def run(self, step: Any) -> Any:
        return self.loop.run_until_complete(step)

    @rule(owner=st.sampled_from(OWNERS))
    def claim(self, owner: str) -> None:
        now = self.clock.now()
        real = self.run(self.ledger.claim("j", owner, now))
        assert real == self.run(self.model.claim("j", owner, now))

    @rule(owner=st.sampled_from(OWNERS))
    def release(self, owner: str) -> None:
        real = self.run(self.ledger.release("j", owner))
        assert real == self.run(self.model.release("j", owner))

    @rule(owner=st.sampled_from(OWNERS))
    def complete(self, owner: str) -> None:
        real = self.run(self.ledger.complete("j", owner, f"s-{owner}"))
        assert real == self.run(self.model.complete("j", owner, f"s-{owner}"))
        self.completions += int(real)

    @rule(seconds=st.sampled_from([1, 10, 29, 30, 31, 120, 400]))
    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @invariant()
    def at_most_one_redemption(self) -> None:
        assert self.completions <= 1

    def teardown(self) -> None:
        self.run(self.client.aclose())
        self.loop.close()


def test_no_interleaving_yields_two_redemptions(redis_url: str) -> None:
    """Hypothesis explores step orders; one jti never completes twice."""
    LedgerMachine.redis_url = redis_url
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(max_examples=60, stateful_step_count=30, deadline=None),
    )
