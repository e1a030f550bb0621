"""Writes the .npy fixtures of the pamm command's tests with numpy itself (python3 make_fixtures.py).

x: 6 x 4, every row a multiple of v = (1, -2, 0.5, 3), so one generator represents X exactly;
g: 6 x 3. All values are exact in float16. The malformed files are what users get wrong.
"""
import numpy as np

v = np.array([1.0, -2.0, 0.5, 3.0])
c = np.array([1.0, -2.0, 3.0, 0.5, -1.5, 2.0])
x = np.outer(c, v)
g = np.arange(18.0).reshape(6, 3) / 2 - 4

np.save("x_f32.npy", x.astype("<f4"))
np.save("x_f16.npy", x.astype("<f2"))
np.save("g_f32.npy", g.astype("<f4"))
np.save("g_f16.npy", g.astype("<f2"))
for version in [(2, 0), (3, 0)]:
    with open(f"x_f32_v{version[0]}.npy", "wb") as f:
        np.lib.format.write_array(f, x.astype("<f4"), version=version)

np.save("bad_fortran.npy", np.asfortranarray(x.astype("<f4")))
np.save("bad_3d.npy", np.zeros((2, 3, 4), dtype="<f4"))
np.save("bad_f64.npy", x)
with open("x_f32.npy", "rb") as f:
    whole = f.read()
with open("bad_truncated.npy", "wb") as f:
    f.write(whole[:-10])
with open("bad_magic.npy", "wb") as f:
    f.write(b"x,y\n1,2\n")
