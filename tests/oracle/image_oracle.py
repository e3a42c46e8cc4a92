"""image_oracle.py: decoding fixtures for tests/unit/test_image_decode.c.
Inputs: PNGs of every colour type, bit depth and interlacing (written by the
small encoder below, which also makes interlaced and 16-bit files Pillow
cannot write), and JPEGs written by Pillow (baseline 4:2:0/4:2:2/4:4:4,
progressive, grayscale, Adobe CMYK, CMYK without the Adobe marker) and by
libjpeg-turbo's TurboJPEG (YCCK). Expected pixels: TensorFlow's
tf.io.decode_png / decode_jpeg(channels=3, dct_method="INTEGER_ACCURATE");
the JSON also records how far Pillow's convert("RGB") and TF's default
(INTEGER_FAST) decode are from them. Bad files for the error tests: a PNG
header declaring 100000x100000 and a JPEG one declaring 65500x65500 (both
with valid checksums). Re-runnable; writes tests/fixtures/decode/."""
import ctypes
import io
import json
import os
import struct
import zlib

import numpy as np
import PIL
import tensorflow as tf
from PIL import Image

fixtures = os.environ.get("DLP_FIXTURES", os.path.join(os.path.dirname(__file__), "..", "fixtures"))
shared = os.environ.get("DLP_SHARED_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
out_dir = os.path.join(fixtures, "decode")
os.makedirs(out_dir, exist_ok=True)
rng = np.random.default_rng(1126)
files = []


# --- a minimal PNG encoder (the input generator; TF decodes what it wrote) ---
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_row(samples, bit_depth):
    """One scanline's samples (1-D) packed MSB first / big-endian."""
    if bit_depth == 16:
        return samples.astype(">u2").tobytes()
    if bit_depth == 8:
        return samples.astype(np.uint8).tobytes()
    per_byte = 8 // bit_depth
    padded = np.zeros(-(-len(samples) // per_byte) * per_byte, dtype=np.int64)
    padded[:len(samples)] = samples
    out = bytearray()
    for i in range(0, len(padded), per_byte):
        value = 0
        for s in padded[i:i + per_byte]:
            value = (value << bit_depth) | int(s)
        out.append(value)
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filter_rows(rows, bpp):
    """Each row gets filter type (row index % 5): None, Sub, Up, Average, Paeth."""
    out, previous = bytearray(), bytes(len(rows[0]))
    for index, row in enumerate(rows):
        kind = index % 5
        filtered = bytearray()
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            predictor = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
            filtered.append((x - predictor) & 0xFF)
        out += bytes([kind]) + filtered
        previous = row
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def encode_png(samples, color_type, bit_depth, palette=None, trns=None, interlace=False):
    height, width, channels = samples.shape
    bpp = max(1, channels * bit_depth // 8)
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    raw = b""
    for x0, y0, dx, dy in passes:
        sub = samples[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        rows = [pack_row(r.reshape(-1), bit_depth) for r in sub]
        raw += filter_rows(rows, bpp)
    body = chunk(b"IHDR", ihdr)
    if palette is not None:
        body += chunk(b"PLTE", palette.astype(np.uint8).tobytes())
    if trns is not None:
        body += chunk(b"tRNS", trns)
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def max_diff(a, b):
    if a.shape != b.shape:
        return None
    return int(np.abs(a.astype(np.int32) - b.astype(np.int32)).max())


def pillow_rgb(data):
    try:
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    except Exception as error:  # noqa: BLE001 - recorded, not fatal
        return str(error)


def add(name, data, expected, **notes):
    with open(os.path.join(out_dir, name), "wb") as f:
        f.write(data)
    expected = np.asarray(expected, dtype=np.uint8)
    expected.tofile(os.path.join(out_dir, name + ".rgb"))
    pil = pillow_rgb(data)
    entry = {"file": name, "height": int(expected.shape[0]), "width": int(expected.shape[1]),
             "expected": name + ".rgb",
             "pillow_max_diff": max_diff(pil, expected) if isinstance(pil, np.ndarray) else pil}
    entry.update(notes)
    files.append(entry)


# --- PNG: every colour type x bit depth, some interlaced ---
W, H = 13, 7
png_cases = []
for depth in (1, 2, 4, 8, 16):
    png_cases.append(("gray", 0, depth, 1))
for depth in (1, 2, 4, 8):
    png_cases.append(("palette", 3, depth, 1))
for depth in (8, 16):
    png_cases += [("rgb", 2, depth, 3), ("gray_alpha", 4, depth, 2), ("rgba", 6, depth, 4)]
for label, color_type, depth, channels in png_cases:
    for interlace in (False, True):
        if interlace and not (depth in (1, 16) or color_type == 3 and depth == 4 or color_type == 2):
            continue  # interlacing: a few representative ones
        top = (1 << depth) - 1
        samples = rng.integers(0, top + 1, size=(H, W, channels), dtype=np.int64)
        palette = trns = None
        if color_type == 3:
            palette = rng.integers(0, 256, size=(top + 1, 3))
            trns = bytes(rng.integers(0, 256, size=min(top + 1, 5)).astype(np.uint8))  # dropped, like alpha
        elif color_type == 2 and depth == 8:
            trns = struct.pack(">HHH", 1, 2, 3)
        data = encode_png(samples, color_type, depth, palette, trns, interlace)
        expected = tf.io.decode_png(data, channels=3, dtype=tf.uint8).numpy()
        name = f"{label}{depth}{'_interlaced' if interlace else ''}.png"
        add(name, data, expected, reference="tf.io.decode_png(channels=3, dtype=uint8)")

# --- JPEG ---
photo = Image.open(os.path.join(fixtures, "images", "chelsea_224.png")).convert("RGB").crop((61, 40, 61 + 37, 40 + 29))


def tf_jpeg(data, method):
    return tf.io.decode_jpeg(data, channels=3, dct_method=method).numpy()


def add_jpeg(name, data):
    accurate = tf_jpeg(data, "INTEGER_ACCURATE")
    add(name, data, accurate, reference='tf.io.decode_jpeg(channels=3, dct_method="INTEGER_ACCURATE")',
        tf_default_max_diff=max_diff(tf_jpeg(data, ""), accurate))


def pillow_jpeg(image, **options):
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


add_jpeg("baseline_420.jpg", pillow_jpeg(photo, quality=90, subsampling=2))
add_jpeg("baseline_422.jpg", pillow_jpeg(photo, quality=90, subsampling=1))
add_jpeg("baseline_444.jpg", pillow_jpeg(photo, quality=95, subsampling=0))
add_jpeg("progressive_420.jpg", pillow_jpeg(photo, quality=85, progressive=True))
add_jpeg("optimized_420.jpg", pillow_jpeg(photo, quality=75, optimize=True))
add_jpeg("gray.jpg", pillow_jpeg(photo.convert("L"), quality=90))
add_jpeg("gray_progressive.jpg", pillow_jpeg(photo.convert("L"), quality=90, progressive=True))
cmyk = pillow_jpeg(photo.convert("CMYK"), quality=95)
add_jpeg("cmyk_adobe.jpg", cmyk)


def strip_adobe(data):
    """The same CMYK file without its APP14 marker: then the samples are plain (not inverted) CMYK."""
    out, position = bytearray(data[:2]), 2
    while True:
        marker = data[position + 1]
        length = struct.unpack(">H", data[position + 2:position + 4])[0]
        if marker == 0xDA:
            return bytes(out + data[position:])
        if marker != 0xEE:
            out += data[position:position + 2 + length]
        position += 2 + length


add_jpeg("cmyk_plain.jpg", strip_adobe(cmyk))


def turbojpeg_ycck(pixels_cmyk):
    """TurboJPEG compresses packed CMYK into a YCCK JPEG (Adobe transform 2)."""
    tj = ctypes.CDLL("libturbojpeg.so.0")
    tj.tjInitCompress.restype = ctypes.c_void_p
    handle = tj.tjInitCompress()
    height, width, _ = pixels_cmyk.shape
    buffer, size = ctypes.POINTER(ctypes.c_ubyte)(), ctypes.c_ulong(0)
    source = np.ascontiguousarray(pixels_cmyk, dtype=np.uint8)
    TJPF_CMYK, TJSAMP_420 = 11, 2
    status = tj.tjCompress2(ctypes.c_void_p(handle), source.ctypes.data_as(ctypes.c_void_p), width, 0, height,
                            TJPF_CMYK, ctypes.byref(buffer), ctypes.byref(size), TJSAMP_420, 92, 0)
    assert status == 0
    data = ctypes.string_at(buffer, size.value)
    tj.tjFree(buffer)
    tj.tjDestroy(ctypes.c_void_p(handle))
    return data


add_jpeg("ycck.jpg", turbojpeg_ycck(np.asarray(photo.convert("CMYK"))))

# --- headers beyond the limits (valid checksums; no pixel data needed) ---
huge_png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
with open(os.path.join(out_dir, "huge_100000x100000.png"), "wb") as f:
    f.write(huge_png)
small = bytearray(pillow_jpeg(photo, quality=90))
sof = small.index(b"\xff\xc0")
small[sof + 5:sof + 9] = struct.pack(">HH", 65500, 65500)
with open(os.path.join(out_dir, "huge_65500x65500.jpg"), "wb") as f:
    f.write(bytes(small))

# --- the real photos in ../shared: a checksum of Pillow's RGB pixels ---
photos = {}
for name in ("astronaut_299.png", "chelsea_299.png", "coffee_299.png"):
    path = os.path.join(shared, "oracle", "inception_v3", name)
    if os.path.exists(path):
        pixels = np.asarray(Image.open(path).convert("RGB")).reshape(-1).astype(np.int64)
        weights = np.arange(pixels.size, dtype=np.int64) % 65521 + 1
        photos[name] = {"height": Image.open(path).height, "width": Image.open(path).width,
                        "checksum": int((pixels * weights).sum()), "sum": int(pixels.sum())}

with open(os.path.join(out_dir, "decode.json"), "w") as f:
    json.dump({"tensorflow": tf.__version__, "pillow": PIL.__version__,
               "checksum": "sum over i of pixel[i] * (i % 65521 + 1), RGB8 HWC",
               "files": files, "photos": photos}, f, indent=1)
print(f"decode: {len(files)} files in {out_dir}")
for entry in files:
    print(f"  {entry['file']:28s} pillow_max_diff={entry['pillow_max_diff']} tf_default={entry.get('tf_default_max_diff')}")
