#!/usr/bin/env python3
"""Counts the thumbnails and placeholders in a screenshot of a gallery page.

The page (submit/cmd_gallery.c) paints a flat background, white cards and
flat placeholders; a thumbnail is a large region of neither colour.  Big
connected regions of pixels that are not background or card are found, and
each is a placeholder when most of its pixels are the placeholder colour,
else a thumbnail.  Text makes only small regions.  Standard library only.

usage: count_thumbs.py [--columns] SCREENSHOT.png
"""
import struct
import sys
import zlib

BG, CARD, PH = (0xF4, 0xF1, 0xEA), (0xFF, 0xFF, 0xFF), (0xE4, 0xE0, 0xD6)
MIN_SIDE = 60   # px: smaller regions are text
STEP = 2        # sample every STEP-th pixel each way


def read_png(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    assert depth == 8 and ctype in (2, 6) and interlace == 0, "unsupported PNG"
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def regions(path):
    w, h, bpp, rows = read_png(path)
    gw, gh = w // STEP, h // STEP
    pix = [[tuple(rows[y * STEP][x * STEP * bpp:x * STEP * bpp + 3]) for x in range(gw)]
           for y in range(gh)]
    mask = [[p != BG and p != CARD for p in row] for row in pix]
    seen = [[False] * gw for _ in range(gh)]
    found = []
    for y0 in range(gh):
        for x0 in range(gw):
            if not mask[y0][x0] or seen[y0][x0]:
                continue
            stack, cells = [(x0, y0)], []
            seen[y0][x0] = True
            while stack:
                x, y = stack.pop()
                cells.append((x, y))
                for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                    if 0 <= nx < gw and 0 <= ny < gh and mask[ny][nx] and not seen[ny][nx]:
                        seen[ny][nx] = True
                        stack.append((nx, ny))
            xs = [c[0] for c in cells]
            ys = [c[1] for c in cells]
            bw, bh = (max(xs) - min(xs) + 1) * STEP, (max(ys) - min(ys) + 1) * STEP
            if bw < MIN_SIDE or bh < MIN_SIDE:
                continue
            ph = sum(1 for x, y in cells if pix[y][x] == PH)
            found.append(("placeholder" if ph * 2 > len(cells) else "thumbnail",
                          min(xs) * STEP, min(ys) * STEP, bw, bh))
    return found


def main():
    args = sys.argv[1:]
    columns = args and args[0] == "--columns"
    found = regions(args[-1])
    if columns:
        print(len({r[1] for r in found}))
        return
    t = sum(1 for r in found if r[0] == "thumbnail")
    print("thumbnails=%d placeholders=%d" % (t, len(found) - t))


if __name__ == "__main__":
    main()
