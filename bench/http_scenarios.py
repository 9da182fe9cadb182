"""The HTTP scenarios: the ceiling, minting, and redeeming pre-minted links."""

import asyncio
import json
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import httpx

from bench.loadgen import LoadResult, run_hey, run_wrk
from bench.redeem_split import Split, split_redemptions
from bench.rows import Row, Scale, row
from bench.stack_run import LOAD_CORE, BenchStack, memory_mb

MINT_PATH: Final = "/pos/v1/launch-tokens"
CLIENT_CONCURRENCY: Final = 32


@dataclass
class HttpBench:
    """What the HTTP scenarios share: the stack, the scale, files, the partner."""

    stack: BenchStack
    scale: Scale
    work: Path
    partner_token: str

    @property
    def api(self) -> str:
        return self.stack.stack.config.token_url

    def body(self, external_user_id: str) -> dict[str, str]:
        return {
            "external_user_id": external_user_id,
            "display_name": "Bench User",
            "location_id": self.stack.stack.demo.location_id,
            "role_slug": "location_cashier",
        }

    def mint_files(self) -> tuple[Path, Path]:
        """The mint request as wrk/hey send it: (body file, headers file)."""
        body, headers = self.work / "mint.json", self.work / "mint.headers"
        body.write_text(json.dumps(self.body("bench-mint-user")))
        headers.write_text(
            f"Authorization: Bearer {self.partner_token}\n"
            "Content-Type: application/json\n"
        )
        return body, headers

    def peak_mb(self, name: str = "token-service") -> float:
        return memory_mb(self.stack.pid(name))[0]


def post_at_max(bench: HttpBench, url: str) -> LoadResult:
    """The mint request sent by wrk as fast as the server answers."""
    body, headers = bench.mint_files()
    return run_wrk(
        url,
        connections=bench.scale.connections,
        duration_s=bench.scale.duration_s,
        expected=[201],
        script_args=["method=POST", f"body={body}", f"headers={headers}"],
        core=LOAD_CORE,
    )


def post_at_rate(bench: HttpBench, url: str) -> LoadResult:
    """The mint request sent by hey at the fixed mint rate."""
    body, headers = bench.mint_files()
    return run_hey(
        url,
        rate=bench.scale.mint_rate,
        connections=10,
        duration_s=bench.scale.duration_s,
        expected=[201],
        method="POST",
        body=body,
        headers=headers.read_text().splitlines(),
        core=LOAD_CORE,
    )


def ceilings(bench: HttpBench) -> tuple[Row, Row, Row]:
    """POST and GET at full speed, and POST at the fixed mint rate."""
    scale = bench.scale
    port = bench.stack.start_server(
        "ceiling", [sys.executable, "-m", "bench.ceiling_app"], {}
    )
    base = f"http://127.0.0.1:{port}/ceiling"
    bench.stack.stack.processes.wait_http("ceiling", base)
    try:
        posted = post_at_max(bench, base)
        got = run_wrk(
            base,
            connections=scale.connections,
            duration_s=scale.duration_s,
            expected=[200],
            core=LOAD_CORE,
        )
        paced = post_at_rate(bench, base)
        peak = bench.peak_mb("ceiling")
    finally:
        bench.stack.stop("ceiling")
    return (
        row("ceiling POST, max", posted, peak),
        row("ceiling GET, max", got, peak),
        row(f"ceiling POST @{scale.mint_rate}/s", paced, peak),
    )


def mint(bench: HttpBench, post_max: Row, post_rate: Row) -> list[Row]:
    """Mint links at full speed (wrk) and at the fixed rate (hey)."""
    url = bench.api + MINT_PATH
    at_max = row("mint, max", post_at_max(bench, url), bench.peak_mb(), post_max)
    paced = post_at_rate(bench, url)
    rate = bench.scale.mint_rate
    return [at_max, row(f"mint @{rate}/s", paced, bench.peak_mb(), post_rate)]


async def mint_paths(
    bench: HttpBench, api: str, users: list[str], count: int
) -> list[str]:
    """`count` launch paths (path and query) for `users` in turn."""
    gate = asyncio.Semaphore(CLIENT_CONCURRENCY)
    headers = {"Authorization": f"Bearer {bench.partner_token}"}

    async def one(client: httpx.AsyncClient, user: str) -> str:
        async with gate:
            answer = await client.post(
                api + MINT_PATH, json=bench.body(user), headers=headers
            )
        answer.raise_for_status()
        parts = urlsplit(answer.json()["launch_url"])
        return f"{parts.path}?{parts.query}"

    async with httpx.AsyncClient(timeout=30) as client:
        jobs = [one(client, users[i % len(users)]) for i in range(count)]
        return list(await asyncio.gather(*jobs))


async def _open_all(api: str, paths: list[str]) -> list[int]:
    """Opens each link once like a fresh browser; the statuses."""
    gate = asyncio.Semaphore(CLIENT_CONCURRENCY)

    async def one(client: httpx.AsyncClient, path: str) -> int:
        async with gate:
            return (await client.get(api + path)).status_code

    async with httpx.AsyncClient(timeout=30) as client:
        return list(await asyncio.gather(*(one(client, p) for p in paths)))


def launch(bench: HttpBench, users: list[str]) -> list[int]:
    """One full launch (mint, open) per user; the statuses of the opens."""
    paths = asyncio.run(mint_paths(bench, bench.api, users, len(users)))
    return asyncio.run(_open_all(bench.api, paths))


def soak(bench: HttpBench, launches: int, batch: int = 1000) -> int:
    """`launches` repeat launches of 100 users, in batches; how many answered 303.

    Prints the token service's VmRSS after each batch: the memory trend.
    """
    users = new_users(100, "soak")
    launch(bench, users)
    answered = 0
    pid = bench.stack.pid("token-service")
    for start in range(0, launches, batch):
        chunk = [
            users[i % len(users)] for i in range(start, min(launches, start + batch))
        ]
        answered += launch(bench, chunk).count(303)
        print(f"soak: {start + len(chunk)} launches, VmRSS {memory_mb(pid)[1]:.1f} MB")
    return answered


def new_users(count: int, label: str) -> list[str]:
    run = uuid.uuid4().hex[:6]
    return [f"bench-{label}-{run}-{i}" for i in range(count)]


def redeem(bench: HttpBench, get_max: Row, users: list[str]) -> list[Row]:
    """Repeat users' links at full speed, then at the fixed rate with Cognito split."""
    scale = bench.scale
    paths = asyncio.run(mint_paths(bench, bench.api, users, scale.redeem_links))
    links = bench.work / "redeem-max.paths"
    links.write_text("\n".join(paths) + "\n")
    at_max = run_wrk(
        bench.api,
        connections=scale.connections,
        duration_s=scale.duration_s,
        expected=[303],
        script_args=[f"paths={links}"],
        core=LOAD_CORE,
    )
    rows = [row("redeem (repeat user), max", at_max, bench.peak_mb(), get_max)]

    timed_api = bench.stack.start_token_service(
        "token-service-timed",
        "bench.timed_token_service",
        {"TOKEN_SERVICE_LOG_LEVEL": "DEBUG"},
    )
    count = int(scale.redeem_rate * scale.duration_s * 1.2) + 10
    paths = asyncio.run(mint_paths(bench, timed_api, users, count))
    links.write_text("\n".join(paths) + "\n")
    paced = run_wrk(
        timed_api,
        connections=scale.connections,
        duration_s=scale.duration_s,
        expected=[303],
        script_args=[f"paths={links}", f"rate={scale.redeem_rate}"],
        core=LOAD_CORE,
    )
    peak = bench.peak_mb("token-service-timed")
    bench.stack.stop("token-service-timed")
    log = bench.stack.log_dir / "token-service-timed.log"
    split = split_redemptions(log.read_text().splitlines())
    rows.append(row(f"redeem @{scale.redeem_rate}/s (client)", paced, peak))
    rows += _split_rows(split, scale.redeem_rate, peak)
    return rows


def _split_rows(split: Split, rate: int, peak: float) -> list[Row]:
    """Server-side rows: whole redemption, its Cognito calls, the rest."""
    rows = []
    for label, values in (
        ("server total", split.total_ms),
        ("Cognito calls only", split.cognito_ms),
        ("Cognito excluded", split.product_ms),
    ):
        p50, p90, p99 = split.percentiles(values)
        note = f"{len(values)} redemptions, server-side, per request_id"
        rows.append(
            Row(f"redeem @{rate}/s, {label}", 0.0, p50, p90, p99, 0, peak, None, note)
        )
    return rows
