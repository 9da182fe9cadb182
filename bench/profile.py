"""py-spy on the token service during a mint run and a redeem run: the top frames."""

import asyncio
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Final

from bench import http_scenarios
from bench.loadgen import LoadResult, run_wrk
from bench.stack_run import LOAD_CORE

SAMPLE_RATE: Final = 250
TOP: Final = 25


def top_frames(collapsed: Iterable[str], top: int = TOP) -> tuple[list[str], int]:
    """From py-spy's raw (collapsed) stacks: lines ranking frames by self and
    inclusive share of the samples, and the number of samples."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed:
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"samples: {total}", "", "self (leaf) share:"]
    lines += [f"{n / total:6.1%}  {frame}" for frame, n in own.most_common(top)]
    lines += ["", "inclusive share:"]
    lines += [f"{n / total:6.1%}  {frame}" for frame, n in inclusive.most_common(top)]
    return lines, total


def record(pid: int, seconds: int, out: Path, load: Callable[[], LoadResult]) -> None:
    """Samples `pid` for `seconds` while `load` runs; raw stacks to `out`."""
    spy = shutil.which("py-spy") or str(Path(__file__).parents[1] / ".venv/bin/py-spy")
    argv = [spy, "record", "-p", str(pid), "-d", str(seconds), "-r", str(SAMPLE_RATE)]
    argv += ["--nonblocking", "-f", "raw", "-o", str(out)]
    sampler = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        load()
    finally:
        sampler.wait(seconds + 30)


def profile_all(
    bench: http_scenarios.HttpBench, users: list[str], results: Path
) -> None:
    """Profiles mint then redeem (at full speed) and writes profile-*.txt."""
    scale = bench.scale
    seconds = int(scale.duration_s)
    pid = bench.stack.pid("token-service")

    def mint() -> LoadResult:
        return http_scenarios.post_at_max(bench, bench.api + http_scenarios.MINT_PATH)

    paths = asyncio.run(
        http_scenarios.mint_paths(bench, bench.api, users, scale.redeem_links)
    )
    links = bench.work / "profile.paths"
    links.write_text("\n".join(paths) + "\n")

    def redeem() -> LoadResult:
        return run_wrk(
            bench.api,
            connections=scale.connections,
            duration_s=seconds,
            expected=[303],
            script_args=[f"paths={links}"],
            core=LOAD_CORE,
        )

    for name, load in (("mint", mint), ("redeem", redeem)):
        raw = results / f"profile-{name}.collapsed"
        record(pid, seconds, raw, load)
        lines, _ = top_frames(raw.read_text().splitlines())
        (results / f"profile-{name}.txt").write_text("\n".join(lines) + "\n")
