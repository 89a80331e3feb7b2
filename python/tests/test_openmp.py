"""import xclip asks libgomp for the command line's short spin (see xclip/_openmp.py), unless the
caller chose a policy or libgomp was loaded first; the caller's environment is left as it was."""

import os
import re
import subprocess
import sys

import pytest


def spin_after_import(env_extra, before=""):
    """(GOMP_SPINCOUNT libgomp used, GOMP_SPINCOUNT in os.environ after the import) in a fresh
    interpreter; libgomp prints its settings as it loads when OMP_DISPLAY_ENV is set."""
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    env.update(env_extra, OMP_DISPLAY_ENV="verbose")
    code = before + "import os, xclip; print('after:', os.environ.get('GOMP_SPINCOUNT'))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    used = re.findall(r"GOMP_SPINCOUNT = '(\d+)'", output)
    assert len(used) == 1, f"libgomp's settings not printed once:\n{output}"
    return used[0], re.search(r"after: (\S+)", output).group(1)


def test_import_chooses_the_short_spin_and_leaves_the_environment_alone():
    assert spin_after_import({}) == ("1000", "None")


@pytest.mark.parametrize("variable,value", [("GOMP_SPINCOUNT", "5"), ("OMP_WAIT_POLICY", "active")])
def test_a_policy_the_caller_chose_is_kept(variable, value):
    used, after = spin_after_import({variable: value})
    assert used != "1000"
    assert after == (value if variable == "GOMP_SPINCOUNT" else "None")


def test_libgomp_loaded_first_keeps_its_default():
    # Whatever loaded libgomp first (torch, say) fixed the policy already: nothing is changed.
    used, after = spin_after_import({}, before="import ctypes; ctypes.CDLL('libgomp.so.1'); ")
    assert used != "1000"
    assert after == "None"
