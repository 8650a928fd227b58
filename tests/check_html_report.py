#!/usr/bin/env python3
"""The seed walkthrough's HTML report, rendered by headless Chromium.

  check_html_report.py SLOTLAB SOURCE_DIR [--keep DIR]

Runs `slotlab run scenarios/seed-walkthrough.json --seed 1 --report DIR`, then
  - screenshots DIR/seed-walkthrough-seed1/index.html with `chromium --headless --screenshot`
    and decodes the PNG (zlib only): it must have the requested size, not be blank (many distinct
    colours, a good share of non-white pixels) and show the lanes' colours (primary blue, replica
    green, FAIL red);
  - dumps the DOM Chromium built (`--dump-dom`) and checks the lanes n1..n6, the failover stages,
    the client lane, liveness, availability, the lost-write table and the checks are there.
Exits 77 (CTest's SKIP_RETURN_CODE) only when no chromium binary is installed.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

WIDTH, HEIGHT = 1600, 2000


def find_chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def decode_png(path):
    """Returns (width, height, rows of RGB tuples) for 8-bit RGB/RGBA non-interlaced PNGs."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError(f"{path}: unsupported PNG (depth {depth}, colour type {ctype}, interlace {interlace})")
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        f = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else (b if pb <= pc else c))) & 255
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, bpp)])
        prev = line
    return width, height, rows


def near(px, rgb, tol=40):
    return all(abs(p - q) <= tol for p, q in zip(px, rgb))


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    slotlab, src = sys.argv[1], sys.argv[2]
    keep = sys.argv[4] if len(sys.argv) >= 5 and sys.argv[3] == "--keep" else None
    chromium = find_chromium()
    if chromium is None:
        print("SKIP: no chromium binary (Debian package `chromium`, installed by scripts/setup.sh); the HTML report was not rendered")
        return 77
    work = keep or tempfile.mkdtemp(prefix="slotlab-html-")
    os.makedirs(work, exist_ok=True)
    failures = []
    try:
        run = subprocess.run([slotlab, "run", os.path.join(src, "scenarios/seed-walkthrough.json"), "--seed", "1", "--report", work],
                             capture_output=True, text=True, timeout=600)
        if run.returncode != 0:
            print(run.stdout[-3000:], run.stderr[-3000:])
            print(f"FAIL: slotlab run exited {run.returncode}")
            return 1
        html = os.path.join(work, "seed-walkthrough-seed1", "index.html")
        for f in (html, os.path.join(work, "seed-walkthrough-seed1", "result.json"), os.path.join(work, "seed-walkthrough-seed1.md")):
            if not os.path.isfile(f):
                failures.append(f"missing {f}")
        shot = os.path.join(work, "walkthrough.png")
        profile = os.path.join(work, "chromium-profile")
        base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}"]
        url = "file://" + os.path.abspath(html)
        subprocess.run(base + [f"--screenshot={shot}", url], capture_output=True, text=True, timeout=180)
        if not os.path.isfile(shot):
            failures.append("chromium wrote no screenshot")
        else:
            w, h, rows = decode_png(shot)
            if (w, h) != (WIDTH, HEIGHT):
                failures.append(f"screenshot is {w}x{h}, expected {WIDTH}x{HEIGHT}")
            colours, nonwhite, total = set(), 0, 0
            blue = green = red = 0
            for y in range(0, h, 2):
                for x in range(0, w, 2):
                    px = rows[y][x]
                    total += 1
                    colours.add(px)
                    if px != (255, 255, 255):
                        nonwhite += 1
                    blue += near(px, (0x2f, 0x6f, 0xb3), 12)
                    green += near(px, (0x5f, 0xae, 0x5a), 12)
                    red += near(px, (0xd6, 0x27, 0x28), 12)
            print(f"screenshot {shot}: {w}x{h}, {len(colours)} colours, {100 * nonwhite / total:.1f}% non-white; "
                  f"primary-blue {blue}, replica-green {green}, FAIL-red {red} sampled pixels")
            if len(colours) < 50:
                failures.append(f"screenshot looks blank: {len(colours)} distinct colours")
            if nonwhite < total * 0.05:
                failures.append(f"screenshot looks blank: {nonwhite} of {total} sampled pixels are not white")
            for name, n in (("primary (blue) role bars", blue), ("replica (green) role bars", green), ("FAIL (red) flags", red)):
                if n < 20:
                    failures.append(f"no {name} visible in the screenshot ({n} pixels)")
        dom = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=180).stdout
        expected = [f'id="lane-n{i}"' for i in range(1, 7)] + [
            'id="timeline"', 'id="steps"', 'id="client-errors"', 'id="failover-stages"', 'id="fo1-timeline"', 'id="liveness"',
            'id="availability"', 'id="lost-writes"', 'id="checks"', 'class="stage-bar"', 'class="fault"', "simulated time (s)"]
        for needle in expected:
            if needle not in dom:
                failures.append(f"the DOM Chromium built has no {needle}")
        roles = dom.count('class="role role-')
        if roles < 12:
            failures.append(f"only {roles} role segments in the DOM")
        lanes = [i for i in range(1, 7) if 'id="lane-n%d"' % i in dom]
        print(f"DOM: {len(dom)} characters, {roles} role segments, lanes present: {lanes}")
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
