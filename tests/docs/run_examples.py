"""Runs the examples of the documentation (README.md, docs/*.md, tools/server/README.md,
python/README.md): every ```sh, ```python and ```cpp block runs here, or is marked as not run
with the reason, by the line `<!-- not run: REASON -->` just before it. Blocks without a
language (printed output, diagrams) are not examples.

The examples run as written, each in a fresh scratch home folder: `microsoft/xclip-base-patch32`
resolves offline to the synthetic tiny-8f checkpoint (8 frames, as the real one) placed in a
Hugging Face cache there (HF_HUB_OFFLINE), and the videos they name (clip.mp4, a.mp4, ~/videos, ...) are made with ffmpeg. Python blocks
get `frames` (8 RGB frames of clip.mp4) and `paths` (the videos of ~/videos).

usage: run_examples.py SOURCE_DIR BUILD_DIR [--list]
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE, BUILD = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
LIST_ONLY = "--list" in sys.argv
DOCS = [SOURCE / "README.md", *sorted((SOURCE / "docs").glob("*.md")), SOURCE / "tools/server/README.md",
        SOURCE / "python/README.md"]
LANGUAGES = {"sh": "sh", "bash": "sh", "python": "python", "cpp": "cpp"}
OUTPUTS = {"json", "text", "console"}  # printed results, not examples
NOT_RUN = re.compile(r"^<!-- not run: (.+) -->$")
COMMIT = "0123456789abcdef0123456789abcdef01234567"
PYTHON_PREAMBLE = """
import glob, os
import xclip as _xclip
frames = _xclip.VideoReader(os.path.abspath("clip.mp4")).frames_at([0, 1, 2, 3, 4, 5, 6, 7])[0]
paths = sorted(glob.glob(os.path.expanduser("~/videos/*.mp4")))
"""


def blocks(path):
    """(line, language, code, not_run_reason) of each fenced block with a language."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i, found = 0, []
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, language = i, m.group(1)
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        before = next((lines[k] for k in range(start - 1, -1, -1) if lines[k].strip()), "")
        reason = NOT_RUN.match(before.strip())
        if language:
            found.append((start + 1, language, "\n".join(lines[start + 1:j]), reason.group(1) if reason else None))
        i = j + 1
    return found


def make_video(path, seconds=4, source="testsrc2"):
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"{source}=size=160x120:rate=10:duration={seconds}", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    str(path)], check=True)


def scratch_home(root):
    home = root / "home"
    cache = home / ".cache/huggingface/hub/models--microsoft--xclip-base-patch32"
    tiny = BUILD / "models/tiny-8f"
    if not (tiny / "config.json").exists():
        sys.exit(f"the tiny-8f synthetic checkpoint is missing ({tiny}); CTest's synth.tiny-8f makes it")
    shutil.copytree(tiny, cache / "snapshots" / COMMIT)
    (cache / "refs").mkdir(parents=True)
    (cache / "refs/main").write_text(COMMIT)
    for name in ["clip.mp4", "a.mp4", "b.mp4", "video.mp4", "cam.mp4", "videos/one.mp4", "videos/two.mp4"]:
        make_video(home / name)
    return home


def environment(home):
    env = dict(os.environ)
    env.update({"HOME": str(home), "HF_HUB_OFFLINE": "1", "XCLIP_NUM_THREADS": "2",
                "PATH": f"{BUILD}:{env.get('PATH', '')}",
                "PYTHONPATH": f"{BUILD / 'python'}:{env.get('PYTHONPATH', '')}"})
    env.pop("HF_HUB_CACHE", None)
    env.pop("HF_HOME", None)
    return env


def run(language, code, home, env):
    if language == "sh":
        command = ["bash", "-euo", "pipefail", "-c", code]
    elif language == "python":
        command = ["/usr/bin/python3", "-c", PYTHON_PREAMBLE + code]
    else:
        return f"no runner for {language} blocks: mark it <!-- not run: ... -->"
    try:
        done = subprocess.run(command, cwd=home, env=env, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return "timed out after 600 s"
    if done.returncode != 0:
        return f"exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return None


def main():
    found = [(doc, *b) for doc in DOCS for b in blocks(doc)]
    ran, skipped, failures = 0, 0, []
    with tempfile.TemporaryDirectory(prefix="xclip-doc-examples-") as tmp:
        template = None if LIST_ONLY else scratch_home(Path(tmp))
        for doc, line, language, code, reason in found:
            where = f"{doc.relative_to(SOURCE)}:{line}"
            if language in OUTPUTS:
                continue
            if language not in LANGUAGES:
                failures.append(f"{where}: a ```{language} block (use sh, python or cpp, or no language for output)")
                continue
            if reason:
                skipped += 1
                print(f"not run  {where}: {reason}")
                continue
            if LIST_ONLY:
                print(f"run      {where}")
                continue
            home = Path(tmp) / f"example-{ran}"  # each example in a fresh copy: none sees another's files
            shutil.copytree(template, home, symlinks=True)
            error = run(LANGUAGES[language], code, home, environment(home))
            ran += 1
            print(f"{'FAILED' if error else 'ok'}       {where}")
            if error:
                failures.append(f"{where}:\n{code}\n--> {error}")
    print(f"doc examples: {ran} run, {skipped} marked as not run, {len(failures)} failed")
    if failures:
        print("\n\n".join(failures))
        sys.exit(1)


main()
