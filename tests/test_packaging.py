"""vitutor as a package: the wheel carries its data, and an installed (not editable) copy works."""

import os
import pathlib
import subprocess
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_wheel_installs_with_its_data(tmp_path):
    # --no-build-isolation: build with the pinned setuptools of the venv, nothing is downloaded
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = (tmp_path / "dist").glob("vitutor-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert (
        "vitutor/data/old_faithful.csv" in names
        and "vitutor/data/README.md" in names
    )
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
    )
    code = (
        "import vitutor, vitutor.bayes_gmm as b; "
        "print(vitutor.__file__); print(*b.load_old_faithful().shape)"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert out[0].startswith(str(site)), (
        out
    )  # the installed copy, not the editable checkout
    assert out[1:] == ["272", "2"]
