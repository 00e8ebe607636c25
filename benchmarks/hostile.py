"""Hostile input: how long the worst inputs we were shown take now (each must stay bounded).

    .venv/bin/python benchmarks/hostile.py   (after python3 dev.py test has made .venv)

Prints seconds per case and the ratio of a 4x longer input to the shorter one (linear = 4).
The tests assert only the outcome (refused, or decided); the times live here.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from terp_actions.config import LogSettings, MigrationSettings
from terp_actions.deploy import diagnose
from terp_actions.errors import BadInput
from terp_actions.paths import IgnoreRules
from terp_actions.verify import check_logs, check_migrations
from terp_actions.yamlfile import parse


def seconds(func: Callable[[], object]) -> float:
    began = time.perf_counter()
    with contextlib.suppress(BadInput):
        func()
    return time.perf_counter() - began


def main() -> None:
    logs, migrations = LogSettings(), MigrationSettings()
    print(f"{'case':<52} {'n':>8} {'seconds':>8} {'4n/n':>6}")
    for unit in ("pull ", "cache ", "env ", "migration ", "error "):
        times = []
        for n in (40_000, 160_000):
            line = unit * (n // len(unit))

            def work(line: str = line) -> None:
                diagnose(line)
                check_migrations(line, migrations.ok, migrations.fail)
                check_logs([line], logs.error, logs.allow, logs.max)

            times.append(seconds(work))
        case = f"one log line of {unit.strip()!r}"
        print(f"{case:<52} {160_000:>8} {times[1]:8.3f} {times[1] / times[0]:6.2f}")
    bomb = "\n".join(
        [f"a0: &a0 [{', '.join(['lol'] * 9)}]"]
        + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    )
    case = f"YAML alias bomb ({len(bomb)} bytes), refused"
    print(f"{case:<52} {len(bomb):>8} {seconds(lambda: parse(bomb, where='b')):8.3f}")
    deep = "x: " + "[" * 5000 + "]" * 5000
    print(f"{'YAML nested 5,000 deep, refused':<52} {5000:>8} {seconds(lambda: parse(deep, where='d')):8.3f}")
    for count, paths in ((1000, 1000), (1000, 4000)):
        patterns = [f"dir{i}/**" if i % 3 else f"**/file{i}.txt" for i in range(count)]
        names = [f"dir{i % 97}/sub{i % 13}/file{i}.py" for i in range(paths)]
        taken = seconds(lambda patterns=patterns, names=names: IgnoreRules(patterns).not_ignored(names))
        print(f"{f'{count:,} ignore patterns x {paths:,} paths':<52} {paths:>8} {taken:8.3f}")
    refused = seconds(lambda: IgnoreRules([f"d{i}/**" for i in range(10_000)]))
    print(f"{'10,000 ignore patterns, refused':<52} {10_000:>8} {refused:8.3f}")


if __name__ == "__main__":
    main()
