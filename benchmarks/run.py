"""Benchmarks that print ratios against baselines measured in the same run.

    python3 dev.py bench            # full size: 20,000 commits, ~50,000 files
    python3 dev.py bench --quick    # 2,000 commits, for a smoke run

Targets (issue 2): plan over the whole range <= 1.5x `git log --name-only` over it, with memory
that does not grow with history length; `terp-actions --help` and `check-ignore` <= 2x
`python -c "import click"`; matching linear in path length. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from terp_actions.config import DEFAULT_IGNORE
from terp_actions.deploy import Deployer, poll_interval
from terp_actions.digitalocean import AppPlatform
from terp_actions.paths import IgnoreRules
from terp_actions.sandbox.fake_appplatform import AppPlatformStandIn, ManualClock

ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}
TOPS = ["app", "app/models", "app/routes", "app/services", "docs", "docs/api", ".github/workflows",
        "tests-e2e", "migrations", "static/js", "product-management", "agent-prompts"]  # fmt: skip
EXTS = [".py", ".md", ".js", ".sql", ".yml", ".html"]


def synthetic_stream(commits: int, files: int) -> Iterator[bytes]:
    """A git fast-import stream: one import of ``files`` files, then small commits and merges."""
    # About 60 files per folder, three levels deep: the shape of a real application's tree.
    names = [
        f"{TOPS[i % len(TOPS)]}/m{i // 700 % 60}/s{i // 12 % 6}/f{i:06d}{EXTS[i % len(EXTS)]}"
        for i in range(files)
    ]
    yield b"blob\nmark :1\ndata 5\nhello\n"
    stamp = 1_700_000_000
    yield (f"commit refs/heads/main\nmark :2\ncommitter B <b@x> {stamp} +0000\ndata 6\nimport\n").encode()
    yield from (f"M 100644 :1 {name}\n".encode() for name in names)
    last, mark = 2, 3
    for n in range(1, commits):
        touched = [names[(n * 7919 + k * 104729) % files] for k in range(1 + n % 4)]
        body = "".join(f"M 100644 inline {p}\ndata {len(str(n)) + 1}\n{n}\n" for p in touched)
        if n % 100 == 0:  # a pull request merged with a merge commit
            side = mark
            yield (f"commit refs/heads/side\nmark :{side}\ncommitter B <b@x> {stamp + n} +0000\n"
                   f"data 12\nside commit\nfrom :{last}\n{body}").encode()  # fmt: skip
            mark += 1
            msg = f"Merge pull request #{n} from o/side"
            yield (f"commit refs/heads/main\nmark :{mark}\ncommitter B <b@x> {stamp + n} +0000\n"
                   f"data {len(msg)}\n{msg}\nfrom :{last}\nmerge :{side}\n").encode()  # fmt: skip
        else:
            msg = f"Change {n} (#{n})"
            yield (f"commit refs/heads/main\nmark :{mark}\ncommitter B <b@x> {stamp + n} +0000\n"
                   f"data {len(msg)}\n{msg}\nfrom :{last}\n{body}").encode()  # fmt: skip
        last, mark = mark, mark + 1


def build_repo(path: Path, commits: int, files: int) -> None:
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main", str(path)], check=True, env=ENV)
    proc = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=path, stdin=subprocess.PIPE, env=ENV)
    assert proc.stdin is not None
    for chunk in synthetic_stream(commits, files):
        proc.stdin.write(chunk)
    proc.stdin.close()
    assert proc.wait() == 0
    subprocess.run(["git", "checkout", "--quiet", "main"], cwd=path, check=True, env=ENV)


def median_time(func: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_medians(funcs: list[Callable[[], object]], runs: int) -> list[float]:
    """Median seconds of each function, measured round-robin."""
    times: list[list[float]] = [[] for _ in funcs]
    for _ in range(runs):
        for index, func in enumerate(funcs):
            start = time.perf_counter()
            func()
            times[index].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def run_quiet(cmd: list[str], cwd: Path | None = None) -> None:
    subprocess.run(cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, check=True)


def plan_peak_rss_mib(repo: Path, base: str, keep: int | None) -> float:
    """Peak resident memory of the plan itself (our process only, not git's), in a fresh interpreter."""
    script = (
        "import json, resource, sys\n"
        "from terp_actions.config import Config\n"
        "from terp_actions.git import Git\n"
        "from terp_actions.plan import build_plan, plan_to_json\n"
        "keep = None if sys.argv[3] == 'all' else int(sys.argv[3])\n"
        "plan = build_plan(Git(sys.argv[1]), Config().rules(), sys.argv[2], 'HEAD', keep=keep)\n"
        "json.dumps(plan_to_json(plan))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    argv = [sys.executable, "-c", script, str(repo), base, "all" if keep is None else str(keep)]
    out = subprocess.run(argv, env=ENV, capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 1024


def bench_plan(commits: int, files: int, runs: int) -> list[tuple[str, float, float | None]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="terp-bench-") as tmp:
        repo = Path(tmp) / "repo"
        start = time.perf_counter()
        build_repo(repo, commits, files)
        print(f"built {commits} commits / {files} files in {time.perf_counter() - start:.1f}s")
        root = subprocess.run(["git", "rev-list", "--max-parents=0", "HEAD"], cwd=repo, env=ENV,
                              capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
        half = subprocess.run(["git", "rev-parse", f"HEAD~{commits // 2}"], cwd=repo, env=ENV,
                              capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
        floor_cmd = ["git", "log", "--name-only", "--no-renames", "--format=%H", f"{root}..HEAD"]
        plan_cmd = [sys.executable, "-m", "terp_actions", "plan", "--repo", str(repo), "--base", root]
        # Interleaved, so a noisy neighbour slows all three alike; medians of `runs` rounds.
        floor, plan, plan_json = interleaved_medians(
            [
                lambda: run_quiet(floor_cmd, repo),
                lambda: run_quiet(plan_cmd),
                lambda: run_quiet([*plan_cmd, "--json"]),
            ],
            runs,
        )
        print(f"git log --name-only (floor): {floor:.3f}s   plan: {plan:.3f}s   --json: {plan_json:.3f}s")
        results.append(("plan / git log --name-only", plan / floor, 1.5))
        results.append(("plan --json / git log --name-only", plan_json / floor, 1.5))

        for label, keep in (("plan (lists the newest 50)", 50), ("plan --json (lists all)", None)):
            # git's output is read in 1 MiB chunks and never held whole. What remains grows with
            # the files the range's diff touches (bounded by the tree) and its PR numbers; with
            # --json also with every commit listed.
            whole, quarter = plan_peak_rss_mib(repo, root, keep), plan_peak_rss_mib(repo, half, keep)
            print(f"peak RSS of {label}: all {commits} commits {whole:.1f} MiB, last half {quarter:.1f} MiB")
            results.append((f"memory of {label}, whole range / half", whole / quarter, None))
    return results


def bench_startup(runs: int) -> list[tuple[str, float, float | None]]:
    click_cmd = [sys.executable, "-c", "import click"]
    help_cmd = [sys.executable, "-m", "terp_actions", "--help"]
    check_cmd = [
        sys.executable,
        "-m",
        "terp_actions",
        "check-ignore",
        "docs/a.md",
        "app/x.py",
        "--repo",
        tempfile.gettempdir(),
    ]
    base = median_time(lambda: run_quiet(click_cmd), runs)
    helpt = median_time(lambda: run_quiet(help_cmd), runs)
    check = median_time(lambda: run_quiet(check_cmd), runs)
    print(f"python -c 'import click': {base * 1000:.0f} ms   --help: {helpt * 1000:.0f} ms", end="")
    print(f"   check-ignore: {check * 1000:.0f} ms")
    return [("--help / import click", helpt / base, 2.0), ("check-ignore / import click", check / base, 2.0)]


def bench_matching() -> list[tuple[str, float, float | None]]:
    rules = IgnoreRules(DEFAULT_IGNORE)
    paths = [f"{TOPS[i % len(TOPS)]}/sub{i % 97}/file{i}{EXTS[i % len(EXTS)]}" for i in range(200_000)]
    start = time.perf_counter()
    for p in paths:
        rules.is_ignored(p)
    rate = len(paths) / (time.perf_counter() - start)
    print(f"matching the default rules: {rate / 1e6:.2f} M distinct paths/s (cold cache)")

    results = []
    for label, pattern, unit in [
        ("**/ x25 then a", "**/" * 25 + "a", "b/"),
        ("a? x30 a x30", "a?" * 30 + "a" * 30, "a"),
        ("* x40 then a", "*" * 40 + "a", "b"),
    ]:

        def timed(n: int, pattern: str = pattern, unit: str = unit) -> float:
            path = unit * n + "c"
            return median_time(lambda: IgnoreRules([pattern]).is_ignored(path), 5)

        small, large = timed(2_000), timed(8_000)
        print(f"adversarial {label!r}: n=2000 {small * 1000:.1f} ms, n=8000 {large * 1000:.1f} ms")
        results.append((f"adversarial {label}: time(4n)/time(n) (linear = 4)", large / small, 6.0))
    return results


def bench_deploy_requests() -> list[tuple[str, float, float | None]]:
    """API requests of a deploy that takes 5 simulated minutes, on the stand-in's injected clock."""
    clock = ManualClock()
    timings = {"PENDING_BUILD": 30.0, "BUILDING": 180.0, "PENDING_DEPLOY": 30.0, "DEPLOYING": 60.0}
    with AppPlatformStandIn(clock=clock).running() as stand_in:
        app = stand_in.add_app("bench", "main", timings=timings)  # type: ignore[attr-defined]
        client = AppPlatform("dop_v1_sandbox", stand_in.url, sleep=clock.advance)
        start = clock.now
        Deployer(
            client, app.id, contains=lambda _c: True, say=lambda _l: None, clock=clock, sleep=clock.advance
        ).run()
        history = [(op, t - start) for op, t in stand_in.history]
    polls = [t for op, t in history if op == "apps_get_deployment"]
    late = [t for t in polls if t > 60]
    changes, at = [], 0.0
    for length in timings.values():
        at += length
        changes.append(at)
    lag = max(min(t for t in polls if t >= change) - change for change in changes)
    print(f"deploy of {int(at)} simulated s: {len(history)} API requests ({len(polls)} polls); "
          f"{len(late)} polls after the first minute ({len(late) / (polls[-1] - 60) * 5:.2f} per 5 s); "
          f"phase changes seen at most {lag:.1f} s late (poll interval {poll_interval(at)} s)")  # fmt: skip
    return [
        ("deploy polls per 5 simulated s after the first minute", len(late) / (polls[-1] - 60) * 5, 1.0),
        ("deploy: phase-change lag / poll interval", lag / poll_interval(at), 1.0),
    ]


def bench_github_requests() -> list[tuple[str, float, float | None]]:
    """GitHub requests of one staging run carrying one pull request (sync, plan, deploy, verify
    and the four reports the workflow makes), on the demo's history and stand-ins; then those of
    one `report` after 1,200 earlier staging Deployments."""
    from terp_actions.flows import report_stage  # noqa: PLC0415 - only this section needs them
    from terp_actions.report import StageState  # noqa: PLC0415
    from terp_actions.sandbox.demo import merge_and_register, open_sandbox, staging_run  # noqa: PLC0415
    from terp_actions.sandbox.history import start_terp_history  # noqa: PLC0415

    with (
        tempfile.TemporaryDirectory() as folder,
        open_sandbox(lambda _line: None, start_terp_history(Path(folder))) as s,
    ):
        merge_and_register(s, 101)
        s.b.push("main")
        before = sum(s.gh.calls.values())
        counts = dict(s.gh.calls)
        staging_run(s, [101])
        run = sum(s.gh.calls.values()) - before
        print(
            "  "
            + ", ".join(
                f"{op} {n - counts.get(op, 0)}" for op, n in s.gh.calls.items() if n > counts.get(op, 0)
            )
        )
        head = s.b.git.text(["rev-parse", "origin/staging"])
        for _ in range(1200):
            s.github.create_deployment(ref=head, environment="staging", description="earlier")
        listed = s.gh.calls["repos/list-deployments"]
        verified = StageState("success", s.b.git.text(["rev-parse", "origin/main"]), "")
        report_stage(s.github, [101], "verified", verified, console=s.out, env="staging")
        pages = s.gh.calls["repos/list-deployments"] - listed
    print(
        f"one-PR staging run: {run} GitHub requests; one report after 1,200 Deployments: {pages} list pages"
    )
    return [
        ("GitHub requests of a one-PR staging run / 15", run / 15, 1.0),
        ("Deployments pages of one report (1,200 earlier) / 6", pages / 6, 1.0),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 commits instead of 20,000")
    parser.add_argument(
        "--only", choices=["plan", "startup", "matching", "deploy", "github"], help="run one section"
    )
    args = parser.parse_args()
    commits, files = (2_000, 5_000) if args.quick else (20_000, 50_000)
    sections: dict[str, Callable[[], list[tuple[str, float, float | None]]]] = {
        "plan": lambda: bench_plan(commits, files, runs=7),
        "startup": lambda: bench_startup(runs=7),
        "matching": bench_matching,
        "deploy": bench_deploy_requests,
        "github": bench_github_requests,
    }
    results = [row for name, section in sections.items() if args.only in (None, name) for row in section()]
    print("\nratio                                                        measured  target")
    missed = 0
    for name, ratio, target in results:
        ok = target is None or ratio <= target
        missed += not ok
        shown = "(report)" if target is None else f"<= {target:.1f}"
        print(f"{name:<60} {ratio:8.2f}  {shown}  {'ok' if ok else 'MISSED'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
