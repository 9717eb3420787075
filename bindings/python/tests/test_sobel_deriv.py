"""`sobel(img, dx=, dy=, ksize=, scale=, delta=, ddepth=)` against `cv2.Sobel` itself: every
input and output dtype, ksize 1/3/5/7, derivative order, border, memory layout and tiny
images (smaller than the kernel), plus an exact numpy reference for what OpenCV computes
inexactly (float images, uint16 at ksize 7, BORDER_WRAP and constants other than 0, which
cv2.Sobel does not offer)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ferrokern as fk

cv2 = pytest.importorskip("cv2")

IN_DTYPES = [np.uint8, np.uint16, np.float32, np.float64]
OUT = {  # ddepth -> numpy dtype
    cv2.CV_8U: np.uint8,
    cv2.CV_16U: np.uint16,
    cv2.CV_16S: np.int16,
    cv2.CV_32F: np.float32,
    cv2.CV_64F: np.float64,
}
ORDERS = [(1, 0), (0, 1), (1, 1), (2, 0), (0, 2), (2, 1), (1, 2), (3, 0), (0, 3), (2, 2), (4, 1), (0, 6)]
CV_BORDERS = {
    cv2.BORDER_REFLECT_101: "reflect101",
    cv2.BORDER_REPLICATE: "replicate",
    cv2.BORDER_REFLECT: "reflect",
    cv2.BORDER_CONSTANT: "constant",
}
# scale/delta pairs whose float32 arithmetic in OpenCV is exact on integer images.
EXACT_SCALES = [(1.0, 0.0), (2.0, 3.0), (0.5, -1.0), (-1.0, 0.0), (0.25, 100.0), (3.0, -5.0), (0.5, 0.25)]


def valid(dx, dy, ksize):
    lim = 3 if ksize == 1 else ksize
    return dx + dy > 0 and dx < lim and dy < lim


def image(shape, dtype, rng, hi=None):
    if np.dtype(dtype).kind == "u":
        top = np.iinfo(dtype).max if hi is None else hi
        return rng.integers(0, top, size=shape, endpoint=True).astype(dtype)
    return (rng.standard_normal(shape) * 100).astype(dtype)


def exact(a, dx, dy, ksize, pad_mode, cval=0.0, absolute=False):
    """The filtered value S (before scale/delta) in float64 from an explicitly padded image:
    exact for integer images, the float64 correlation for float ones. `absolute`: the sum of
    the terms' absolute values instead (what bounds a float sum's rounding error)."""
    kx, ky = (k.ravel() for k in cv2.getDerivKernels(dx, dy, ksize, ktype=cv2.CV_64F))
    if absolute:
        a, kx, ky = np.abs(a.astype(np.float64)), np.abs(kx), np.abs(ky)
    rx, ry = len(kx) // 2, len(ky) // 2
    kw = {"constant_values": cval} if pad_mode == "constant" else {}
    p = np.pad(a.astype(np.float64), ((ry, ry), (rx, rx)), mode=pad_mode, **kw)
    h, w = a.shape
    t = sum(kx[i] * p[:, i : i + w] for i in range(len(kx)))
    return sum(ky[j] * t[j : j + h] for j in range(len(ky)))


def assert_within_cv2_rounding(got, want, a, dx, dy, ksize, scale=1.0, delta=0.0):
    """OpenCV sums float32 taps (delta first) in its own order, so its rounding error is a
    few float32 ulps of the sum of the absolute terms, not of a result that cancels."""
    terms = exact(a, dx, dy, ksize, "reflect", absolute=True) * abs(scale) + abs(delta)
    if want.dtype.kind in "iu":  # the rounding error can cross a half: one unit apart
        bound = 4 * np.finfo(np.float32).eps * terms + 1.0
    else:
        bound = 4 * np.finfo(np.float32).eps * terms + np.spacing(np.abs(want)).astype(np.float64)
    assert np.all(np.abs(got.astype(np.float64) - want) <= bound)


def finish(s, scale, delta, dt):
    v = s * scale + delta
    if np.dtype(dt).kind in "ui":
        info = np.iinfo(dt)
        return np.clip(np.rint(v), info.min, info.max).astype(dt)  # rint: half to even
    return v.astype(dt)


def layouts(a):
    yield "contiguous", a.copy()
    big = np.zeros((a.shape[0] * 2 + 1, a.shape[1] * 3 + 2), a.dtype)
    big[1::2, 2::3] = a
    yield "sliced", big[1::2, 2::3]
    yield "fortran", np.asfortranarray(a)
    yield "flipped", np.ascontiguousarray(a[::-1, ::-1])[::-1, ::-1]
    yield "byteswapped", a.astype(a.dtype.newbyteorder())
    raw = bytes(3) + a.tobytes()
    yield "misaligned", np.frombuffer(raw, dtype=a.dtype, count=a.size, offset=3).reshape(a.shape)


def test_rint_is_half_to_even_like_cv2():
    # The premise of `finish`: OpenCV's saturate_cast rounds half to even, as np.rint.
    a = np.zeros((3, 3), np.uint8)
    a[1, 2] = 5  # gx at (1, 1) = 2·5 = 10 (ksize 3, dx = 1), scaled by 0.25: 2.5
    assert cv2.Sobel(a, cv2.CV_16S, 1, 0, ksize=3, scale=0.25)[1, 1] == 2  # 2.5 -> 2
    assert fk.sobel(a, dx=1, dy=0, scale=0.25, ddepth=cv2.CV_16S)[1, 1] == 2
    a[1, 2] = 7  # 3.5 -> 4
    assert cv2.Sobel(a, cv2.CV_16S, 1, 0, ksize=3, scale=0.25)[1, 1] == 4
    assert fk.sobel(a, dx=1, dy=0, scale=0.25, ddepth=cv2.CV_16S)[1, 1] == 4


@pytest.mark.parametrize("ksize", [1, 3, 5, 7])
def test_uint8_to_int16_rounds_a_fractional_delta_first_as_cv2(ksize):
    """OpenCV filters uint8 -> int16 with an integral kernel in integer arithmetic and rounds
    `delta` to an integer first (0.5 -> 0, 1.5 -> 2): so do we, for that pair only."""
    rng = np.random.default_rng(ksize)
    a = image((21, 26), np.uint8, rng)
    for delta in (0.5, 1.5, -2.5, 0.7):
        want = cv2.Sobel(a, cv2.CV_16S, 1, 0, ksize=ksize, delta=delta)
        np.testing.assert_array_equal(
            fk.sobel(a, dx=1, dy=0, ksize=ksize, delta=delta, ddepth=cv2.CV_16S), want
        )
        # Other outputs add float32(delta) as it is: ours rounds S + delta once, OpenCV adds
        # delta before the taps in float32, so the two may differ by one ulp.
        want32 = cv2.Sobel(a, cv2.CV_32F, 1, 0, ksize=ksize, delta=delta)
        got32 = fk.sobel(a, dx=1, dy=0, ksize=ksize, delta=delta, ddepth=cv2.CV_32F)
        exact32 = (exact(a, 1, 0, ksize, "reflect") + np.float64(np.float32(delta))).astype(np.float32)
        np.testing.assert_array_equal(got32, exact32)
        assert_within_cv2_rounding(got32, want32, a, 1, 0, ksize, delta=delta)


@pytest.mark.parametrize("src", [np.uint8, np.uint16])
@pytest.mark.parametrize("ddepth", list(OUT))
def test_integer_images_bit_identical_to_cv2(src, ddepth):
    """Every ksize, order, border and exact scale/delta on odd-sized integer images."""
    rng = np.random.default_rng(ddepth)
    for ksize in (1, 3, 5, 7):
        for dx, dy in ORDERS:
            if not valid(dx, dy, ksize):
                continue
            for code, name in CV_BORDERS.items():
                for scale, delta in EXACT_SCALES[:: 2 if ksize > 3 else 1]:
                    shape = tuple(rng.integers(1, 40, size=2))
                    # OpenCV filters uint16 at ksize 7 in float32, exactly only below 2^24:
                    # image values up to 4095 keep it exact (64·64·4095 < 2^24).
                    a = image(shape, src, rng, hi=4095 if (src == np.uint16 and ksize == 7) else None)
                    want = cv2.Sobel(
                        a, ddepth, dx, dy, ksize=ksize, scale=scale, delta=delta, borderType=code
                    )
                    got = fk.sobel(
                        a, name, dx=dx, dy=dy, ksize=ksize, scale=scale, delta=delta, ddepth=ddepth
                    )
                    assert got.dtype == want.dtype
                    np.testing.assert_array_equal(
                        got, want, err_msg=f"{shape} k{ksize} {dx},{dy} {name} {scale},{delta}"
                    )
                    # cv2's integer constant too, and the scipy/OpenCV aliases of the border.
                    np.testing.assert_array_equal(
                        fk.sobel(a, code, dx=dx, dy=dy, ksize=ksize, scale=scale, delta=delta, ddepth=ddepth),
                        want,
                    )


def test_uint16_ksize7_full_range_is_exact():
    """Where OpenCV's float32 is inexact (uint16 at ksize 7), ours is the exact value."""
    rng = np.random.default_rng(7)
    a = image((31, 29), np.uint16, rng)
    for ddepth in (cv2.CV_16S, cv2.CV_32F, cv2.CV_64F):
        dt = OUT[ddepth]
        want = finish(exact(a, 1, 1, 7, "reflect"), 1.0, 0.0, dt)
        np.testing.assert_array_equal(fk.sobel(a, dx=1, dy=1, ksize=7, ddepth=ddepth), want)
        close = cv2.Sobel(a, ddepth, 1, 1, ksize=7)
        np.testing.assert_allclose(close.astype(np.float64), want.astype(np.float64), rtol=0, atol=8)


@pytest.mark.parametrize("src", [np.float32, np.float64])
def test_float_images_match_cv2_within_its_rounding(src):
    """Float images: OpenCV sums in float32 (float64 for CV_64F), and so do we: float32
    images into a float32 (or integer) output are filtered in float32, anything with float64
    in float64 with one final rounding, equal to the float64 correlation rounded once. Either
    side's float32 result differs from the exact one by its own rounding, bounded by a few
    ulps of the sum of the absolute terms (bit-identity would need OpenCV's exact operation
    order, which is IPP's in the pip builds)."""
    rng = np.random.default_rng(3)
    for ksize in (1, 3, 5, 7):
        for dx, dy in [(1, 0), (0, 1), (1, 1), (2, 0), (0, 2)]:
            for ddepth in (cv2.CV_32F, cv2.CV_64F):
                if src == np.float64 and ddepth == cv2.CV_32F:
                    continue  # cv2.Sobel refuses it (we accept it)
                dt = OUT[ddepth]
                a = image((23, 37), src, rng)
                for scale, delta in [(1.0, 0.0), (0.3, 1.7)]:
                    want = cv2.Sobel(a, ddepth, dx, dy, ksize=ksize, scale=scale, delta=delta)
                    got = fk.sobel(a, dx=dx, dy=dy, ksize=ksize, scale=scale, delta=delta, ddepth=ddepth)
                    assert got.dtype == want.dtype
                    s = exact(a, dx, dy, ksize, "reflect")
                    # OpenCV (and so we) hold scale and delta in float32 unless float64 is involved
                    f32 = src == np.float32 and ddepth == cv2.CV_32F
                    sc, de = (float(np.float32(scale)), float(np.float32(delta))) if f32 else (scale, delta)
                    terms = exact(a, dx, dy, ksize, "reflect", absolute=True)
                    eps = np.finfo(
                        np.float32 if ddepth == cv2.CV_32F or src == np.float32 else np.float64
                    ).eps
                    bound = 4 * eps * (terms * abs(scale) + abs(delta)) + np.spacing(np.abs(want)).astype(
                        np.float64
                    )
                    if f32:
                        # Filtered in float32: within the same bound of the exact value.
                        assert np.all(np.abs(got.astype(np.float64) - (s * sc + de)) <= bound)
                    else:
                        np.testing.assert_array_equal(got, (s * sc + de).astype(dt))
                    assert np.all(np.abs(got.astype(np.float64) - want) <= bound)


@pytest.mark.parametrize("border", ["wrap", "constant"])
@pytest.mark.parametrize("src", IN_DTYPES)
def test_wrap_and_cval_against_explicit_padding(border, src):
    """cv2.Sobel has no BORDER_WRAP and pads BORDER_CONSTANT with 0 only: compare with
    cv2.Sobel of the explicitly padded image, cropped (its own border is then irrelevant),
    and with the exact reference."""
    rng = np.random.default_rng(11)
    cval = 7.0 if border == "constant" else 0.0
    for ksize in (1, 3, 5, 7):
        for dx, dy in [(1, 0), (0, 1), (1, 1), (2, 0), (0, 2)]:
            for shape in [(1, 1), (2, 5), (3, 2), (17, 9)]:
                a = image(shape, src, rng)
                r = 3
                kw = {"constant_values": cval} if border == "constant" else {}
                padded = np.pad(a, r, mode=border, **kw)
                ddepth = cv2.CV_64F
                want = cv2.Sobel(padded, ddepth, dx, dy, ksize=ksize)[r:-r, r:-r]
                got = fk.sobel(a, border, dx=dx, dy=dy, ksize=ksize, ddepth=ddepth, cval=cval)
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)
                if src in (np.uint8, np.uint16):
                    np.testing.assert_array_equal(got, want)
                    np.testing.assert_array_equal(
                        fk.sobel(a, border, dx=dx, dy=dy, ksize=ksize, ddepth=cv2.CV_16S, cval=cval),
                        finish(exact(a, dx, dy, ksize, border, cval), 1.0, 0.0, np.int16),
                    )


@pytest.mark.parametrize("src", IN_DTYPES)
def test_every_layout_and_strided_out(src):
    rng = np.random.default_rng(5)
    a = image((19, 27), src, rng)
    for ddepth in (cv2.CV_16S, cv2.CV_64F):
        want = fk.sobel(a, dx=1, dy=2, ksize=5, ddepth=ddepth)
        if src in (np.uint8, np.uint16):
            np.testing.assert_array_equal(want, cv2.Sobel(a, ddepth, 1, 2, ksize=5))
        else:
            assert_within_cv2_rounding(want, cv2.Sobel(a, ddepth, 1, 2, ksize=5), a, 1, 2, 5)
        for name, v in layouts(a):
            np.testing.assert_array_equal(fk.sobel(v, dx=1, dy=2, ksize=5, ddepth=ddepth), want, err_msg=name)
        big = np.zeros((19 * 2, 27 * 3), OUT[ddepth])
        o = big[::-2, 1::3]
        r = fk.sobel(a, None, o, dx=1, dy=2, ksize=5)
        assert r is o
        np.testing.assert_array_equal(o, want)


def test_dtype_rules():
    a = np.arange(30, dtype=np.uint8).reshape(5, 6)
    assert fk.sobel(a, dx=1, dy=0).dtype == np.uint8  # ddepth -1: the input's, as cv2
    assert fk.sobel(a.astype(np.uint16), dx=1, dy=0).dtype == np.uint16
    assert fk.sobel(a, dx=1, dy=0, dtype=np.int16).dtype == np.int16
    assert fk.sobel(a, dx=1, dy=0, ddepth=-1).dtype == np.uint8
    np.testing.assert_array_equal(fk.sobel(a, dx=1, dy=0), cv2.Sobel(a, -1, 1, 0))
    # The magnitude's behaviour and default border are unchanged.
    np.testing.assert_array_equal(fk.sobel(a), fk.sobel(a, "zero"))


def test_large_image_parallel_bands_match_cv2():
    rng = np.random.default_rng(9)
    a = image((1201, 997), np.uint8, rng)
    for ksize in (1, 3, 5, 7):
        for ddepth in (cv2.CV_16S, cv2.CV_32F):
            want = cv2.Sobel(a, ddepth, 1, 1 if ksize > 1 else 0, ksize=ksize)
            got = fk.sobel(a, dx=1, dy=1 if ksize > 1 else 0, ksize=ksize, ddepth=ddepth)
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("ksize", [1, 3, 5, 7])
def test_uint8_integer_path_extremes_match_cv2(ksize):
    """uint8 images take the 16-bit integer path (32-bit vertical lanes where a sum can
    exceed int16: ksize 7, order-4 axes): images of 0s and 255s give the largest sums of
    either sign, which saturate int16/uint8 outputs; large enough for parallel bands."""
    rng = np.random.default_rng(ksize)
    a = np.where(rng.random((613, 509)) < 0.5, 0, 255).astype(np.uint8)
    a[100:300, 50:400] = 255  # flat regions too: zero sums
    orders = [(1, 0), (0, 1), (1, 1), (2, 0), (0, 2)] + ([(4, 0), (0, 4), (3, 1)] if ksize >= 5 else [])
    for dx, dy in orders:
        if not valid(dx, dy, ksize):
            continue
        for ddepth in (cv2.CV_16S, cv2.CV_8U, cv2.CV_32F):
            for border in (cv2.BORDER_REFLECT_101, cv2.BORDER_CONSTANT):
                want = cv2.Sobel(a, ddepth, dx, dy, ksize=ksize, borderType=border)
                got = fk.sobel(a, border, dx=dx, dy=dy, ksize=ksize, ddepth=ddepth)
                np.testing.assert_array_equal(got, want, err_msg=f"{dx} {dy} {ddepth} {border}")
                assert got.tobytes() == want.tobytes()  # float zeros: +0.0 as cv2's


def test_errors():
    a = np.zeros((5, 5), np.uint8)
    with pytest.raises(ValueError, match=r"ksize = 4; expected 1, 3, 5 or 7"):
        fk.sobel(a, dx=1, dy=0, ksize=4)
    with pytest.raises(ValueError, match=r"dx = dy = 0"):
        fk.sobel(a, dx=0, dy=0)
    with pytest.raises(ValueError, match=r"dx = 3 with ksize = 3"):
        fk.sobel(a, dx=3, dy=0)
    with pytest.raises(ValueError, match=r"dy = 3 with ksize = 1"):
        fk.sobel(a, dx=0, dy=3, ksize=1)
    with pytest.raises(ValueError, match=r"FK_BORDER_ZERO"):
        fk.sobel(a, "zero", dx=1, dy=0)
    with pytest.raises(ValueError, match=r"out of range"):
        fk.sobel(a, dx=-1, dy=1)
    with pytest.raises(TypeError, match=r"needs both dx and dy"):
        fk.sobel(a, dx=1)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"dx must be an integer"):
        fk.sobel(a, dx=1.0, dy=0)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match=r"ddepth = 4"):
        fk.sobel(a, dx=1, dy=0, ddepth=cv2.CV_32S)
    with pytest.raises(TypeError, match=r"int32 is not supported"):
        fk.sobel(a, dx=1, dy=0, dtype=np.int32)
    with pytest.raises(ValueError, match=r"shape \(5, 5\)"):
        fk.sobel(a, None, np.zeros((4, 5), np.int16), dx=1, dy=0)
    with pytest.raises(ValueError, match=r"gradients=True is for the magnitude"):
        fk.sobel(a, dx=1, dy=0, gradients=True)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match=r"pass dx and dy"):
        fk.sobel(a, ksize=5)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"scale must be a real number"):
        fk.sobel(a, dx=1, dy=0, scale="x")  # type: ignore[call-overload]


@settings(max_examples=150, deadline=None)
@given(
    h=st.integers(1, 24),
    w=st.integers(1, 24),
    src=st.sampled_from([np.uint8, np.uint16]),
    ddepth=st.sampled_from(list(OUT)),
    ksize=st.sampled_from([1, 3, 5, 7]),
    order=st.sampled_from(ORDERS),
    border=st.sampled_from(list(CV_BORDERS)),
    sd=st.sampled_from(EXACT_SCALES),
    layout=st.sampled_from(["contiguous", "sliced", "fortran", "flipped", "byteswapped", "misaligned"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_integer_images_equal_cv2(h, w, src, ddepth, ksize, order, border, sd, layout, seed):
    dx, dy = order
    if not valid(dx, dy, ksize):
        return
    rng = np.random.default_rng(seed)
    a = image((h, w), src, rng, hi=4095 if (src == np.uint16 and ksize == 7) else None)
    scale, delta = sd
    want = cv2.Sobel(a, ddepth, dx, dy, ksize=ksize, scale=scale, delta=delta, borderType=border)
    v = dict(layouts(a))[layout]
    got = fk.sobel(v, border, dx=dx, dy=dy, ksize=ksize, scale=scale, delta=delta, ddepth=ddepth)
    np.testing.assert_array_equal(got, want)
