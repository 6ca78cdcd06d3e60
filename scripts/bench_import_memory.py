"""Peak memory of importing a 1-million-row CSV (issue 11 item 8): a valid file and a garbage one.

Writes the CSVs into a temporary folder, runs `geo-service import` on each in a fresh subprocess
(a new store each time) and reports the child's peak RSS (GNU time's %M when /usr/bin/time exists,
else resource.getrusage RUSAGE_CHILDREN), its wall time and the first lines it printed. Usage:

    PYTHONPATH=. python scripts/bench_import_memory.py [--rows 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = "编号,lon,lat,kind,status,last_inspected,flow_lps\n"


def write_valid(path: Path, rows: int) -> None:
    rnd = random.Random(1)
    kinds = ("above_ground", "underground", "wall")
    with path.open("w", encoding="utf-8") as f:
        f.write(HEADER)
        for i in range(rows):
            f.write(f"XHS-{i},{121.2 + rnd.random() * 0.6:.6f},{31.0 + rnd.random() * 0.4:.6f},"
                    f"{kinds[i % 3]},working,2024-0{1 + i % 9}-15,{rnd.random() * 30:.1f}\n")


def write_garbage(path: Path, rows: int) -> None:
    """Every row wrong: a coordinate that is no number and a status that is no allowed value."""
    with path.open("w", encoding="utf-8") as f:
        f.write(HEADER)
        for i in range(rows):
            f.write(f"X{i},east,north,pillarish,坏了,yesterday,lots\n")


def run(csv: Path, store: Path) -> dict:
    env = {**os.environ, "GEO_SERVICE_GPKG": str(store)}
    command = [sys.executable, "-m", "geo_service.cli", "import", str(csv), "--layer", "fire_hydrants", "--new-store"]
    rss_file = store.with_suffix(".rss")
    timed = Path("/usr/bin/time").exists()
    if timed:
        command = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *command]
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    peak_kb = int(rss_file.read_text().split()[-1]) if timed else \
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the maximum over all children so far
    return {"file": csv.name, "bytes": csv.stat().st_size, "exit": proc.returncode, "seconds": seconds,
            "peak_mb": peak_kb / 1024, "out": (proc.stdout.strip().splitlines() or [""])[0],
            "err": [line for line in proc.stderr.splitlines() if line.strip() and "rows/s" not in line]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="write the files here (and keep them) instead of a temp folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        valid, garbage = folder / "hydrants_valid.csv", folder / "hydrants_garbage.csv"
        write_valid(valid, args.rows)
        write_garbage(garbage, args.rows)
        # each file in its own measuring child, so RUSAGE_CHILDREN's maximum is that child's alone
        for csv in (valid, garbage):
            store = folder / f"{csv.stem}.gpkg"
            store.unlink(missing_ok=True)
            r = run(csv, store)
            print(f"{r['file']}: {r['bytes'] / 1e6:.1f} MB, {args.rows:,} rows -> exit {r['exit']} in "
                  f"{r['seconds']:.1f} s, peak RSS {r['peak_mb']:.0f} MB")
            print(f"   stdout: {r['out']}")
            shown = r["err"] if len(r["err"]) <= 6 else [*r["err"][:3], "...", *r["err"][-3:]]
            for line in shown:
                print(f"   stderr: {line[:200]}")


if __name__ == "__main__":
    main()
