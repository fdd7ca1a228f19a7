"""The README's Python example, run as written: it prints sensible neighbours of the
GloVe words shipped in Data/."""
from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import ROOT


def test_the_readme_example_prints_sensible_neighbours(tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Python"):]
    example = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    os.symlink(ROOT / "Data", tmp_path / "Data")
    out = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, check=True, capture_output=True,
                         text=True).stdout
    lines = {line.split(" → ")[0]: line.split(" → ")[1] for line in out.splitlines()}
    assert "queen" in lines["king"] and "prince" in lines["king"]
    assert "france" in lines["paris"]
    assert "computers" in lines["computer"] and "software" in lines["computer"]
