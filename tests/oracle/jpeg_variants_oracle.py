"""jpeg_variants_oracle.py: small JPEGs for tests/unit/test_jpeg_coefficients.c,
written by Pillow (pinned): every size class the reconstruction's edge rules
care about (1 and 2 samples wide or tall, odd sides, several blocks and MCUs)
x 4:4:4, 4:2:2 and 4:2:0 x baseline and progressive, at quality 75, plus a
few at quality 30 and 100. What they must decode to is not stored: the test
compares dlp_jpeg_reconstruct with libjpeg-turbo's own decode (TurboJPEG) of
the same file. Sources: the three oracle photos of ../shared, resized.
Re-runnable; writes tests/fixtures/jpeg_variants/."""
import os

from PIL import Image

fixtures = os.environ.get("DLP_FIXTURES", os.path.join(os.path.dirname(__file__), "..", "fixtures"))
shared = os.environ.get("DLP_SHARED_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
out_dir = os.path.join(fixtures, "jpeg_variants")
os.makedirs(out_dir, exist_ok=True)
for name in os.listdir(out_dir):
    os.remove(os.path.join(out_dir, name))
src = os.path.join(shared, "oracle", "inception_v3")
photos = [Image.open(os.path.join(src, n)).convert("RGB") for n in sorted(os.listdir(src)) if n.endswith(".png")]
sizes = [(1, 1), (2, 3), (3, 2), (5, 7), (17, 9), (33, 31), (40, 24)]
k = 0
for subsampling, kind in ((0, "444"), (1, "422"), (2, "420")):
    for progressive in (False, True):
        for w, h in sizes:
            image = photos[k % 3].resize((w, h), Image.BILINEAR)
            name = "%s_%s_%dx%d.jpg" % (kind, "progressive" if progressive else "baseline", w, h)
            image.save(os.path.join(out_dir, name), quality=75, subsampling=subsampling, progressive=progressive)
            k += 1
    for quality in (30, 100):
        image = photos[k % 3].resize((37, 29), Image.BILINEAR)
        name = "%s_q%d_37x29.jpg" % (kind, quality)
        image.save(os.path.join(out_dir, name), quality=quality, subsampling=subsampling)
        k += 1
print("jpeg_variants: %d files (Pillow %s)" % (k, Image.__version__))
