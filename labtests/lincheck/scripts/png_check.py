#!/usr/bin/env python3
"""Counts pixels of one colour in a PNG (stdlib only: zlib for the data, PNG filters by hand).

Usage: png_check.py PNG RRGGBB MIN_PIXELS
Exits 0 if at least MIN_PIXELS pixels have exactly that colour, 1 if not, 2 on bad input.
Prints the count and the bounding box of those pixels.
"""
import struct
import sys
import zlib


def read_png(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace != 0:
        raise ValueError(f"{path}: only 8-bit RGB/RGBA non-interlaced PNGs are supported")
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows, previous, at = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[at], bytearray(raw[at + 1:at + 1 + stride])
        at += 1 + stride
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            up_left = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else up_left)
                line[i] = (line[i] + pred) & 0xFF
            elif kind != 0:
                raise ValueError(f"{path}: bad filter {kind}")
        rows.append(line)
        previous = line
    return width, height, channels, rows


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    path, hex_colour, minimum = sys.argv[1], sys.argv[2].lstrip("#"), int(sys.argv[3])
    target = tuple(int(hex_colour[i:i + 2], 16) for i in (0, 2, 4))
    try:
        width, height, channels, rows = read_png(path)
    except (OSError, ValueError, zlib.error) as error:
        print(f"lincheck_png_check: {error}", file=sys.stderr)
        return 2
    count, xs, ys = 0, [], []
    for y, row in enumerate(rows):
        for x in range(width):
            if tuple(row[x * channels:x * channels + 3]) == target:
                count += 1
                xs.append(x)
                ys.append(y)
    box = f"x {min(xs)}..{max(xs)}, y {min(ys)}..{max(ys)}" if count else "none"
    print(f"{path}: {width}x{height}, {count} pixels of #{hex_colour} ({box}), need {minimum}")
    return 0 if count >= minimum else 1


if __name__ == "__main__":
    sys.exit(main())
