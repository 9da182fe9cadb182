"""`python -m bench`: runs every scenario and writes bench/results/latest.md."""

import tempfile
import time
from pathlib import Path
from typing import Final

import click

from bench import bus_scenarios, http_scenarios, profile
from bench.report import markdown, plot
from bench.rows import Row, Scale
from bench.stack_run import bench_stack, memory_mb
from tilt_devstack.demo import request_partner_token

RESULTS: Final = Path(__file__).parent / "results"


@click.command()
@click.option(
    "--profile",
    "with_profile",
    is_flag=True,
    help="py-spy mint and redeem (with --only provision: the consumer)",
)
@click.option("--profile-only", is_flag=True, help="only the py-spy profiles")
@click.option("--results", type=click.Path(path_type=Path), default=RESULTS)
@click.option(
    "--only",
    type=click.Choice(["mint", "redeem", "provision"]),
    help="this scenario only, with the ceilings for mint and redeem",
)
def main(
    with_profile: bool, profile_only: bool, results: Path, only: str | None
) -> None:
    """Start the stack, run the scenarios, print and write the results."""
    scale = Scale.from_env()
    results.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as work, bench_stack() as stack:
        token = request_partner_token(stack.stack.credentials()).json()["access_token"]
        bench = http_scenarios.HttpBench(stack, scale, Path(work), token)
        if profile_only:
            users = http_scenarios.new_users(scale.users, "profile")
            http_scenarios.launch(bench, users)
            profile.profile_all(bench, users, results)
            click.echo(f"profiles written to {results}/profile-*.txt")
            return

        if only == "provision":
            click.echo("provision …")
            provisioned = bus_scenarios.provision(bench)
            if with_profile:
                click.echo("profiling the provisioning consumer with py-spy …")
                bus_scenarios.profile_provision(bench, results)
            _write(results, provisioned, {}, {"scale": str(scale)})
            return

        click.echo("ceiling …")
        post_max, get_max, post_rate = http_scenarios.ceilings(bench)
        rows: list[Row] = [post_max, get_max, post_rate]
        if only != "redeem":
            click.echo("mint …")
            rows += http_scenarios.mint(bench, post_max, post_rate)
        click.echo("first launches of the redeem users …")
        users = http_scenarios.new_users(scale.users, "redeem")
        first = http_scenarios.launch(bench, users)
        if only != "mint":
            click.echo("redeem …")
            rows += http_scenarios.redeem(bench, get_max, users)
        cognito: dict[str, dict[str, float]] = {}
        if only is None:
            click.echo("provision …")
            rows += bus_scenarios.provision(bench)
            click.echo("Cognito calls …")
            cognito = bus_scenarios.cognito_calls(bench)
        if scale.soak_launches:
            click.echo(f"soak: {scale.soak_launches} launches …")
            soaked = http_scenarios.soak(bench, scale.soak_launches)
            click.echo(f"soak: {soaked} launches answered 303")
        if with_profile:
            click.echo("profiling mint and redeem with py-spy …")
            profile.profile_all(bench, users, results)

        peak, rss = memory_mb(stack.pid("token-service"))
        context = {
            "scale": str(scale),
            "first launches of the redeem users answered 303": str(first.count(303)),
            "token-service memory at the end": f"VmRSS {rss:.0f}, VmHWM {peak:.0f} MB",
            "wall time": f"{time.monotonic() - started:.0f} s",
            "logs": str(stack.log_dir),
        }
    _write(results, rows, cognito, context)


def _write(
    results: Path,
    rows: list[Row],
    cognito: dict[str, dict[str, float]],
    context: dict[str, str],
) -> None:
    page = markdown(rows, cognito, context)
    (results / "latest.md").write_text(page)
    plot(rows, results / "latency.png")
    click.echo(page)


if __name__ == "__main__":
    main()
