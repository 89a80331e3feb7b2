"""Every command's --help lists exactly what its parser accepts: each option shown is taken
(with a value where the help shows one), an option not shown is refused as unknown, and a
flag given a value is refused. Run by CTest as cli.help (argv[1]: the xclip binary)."""

import re
import subprocess
import sys

XCLIP = sys.argv[1]
COMMANDS = ["classify", "embed", "embed-text", "forward", "tokenize", "preprocess", "probe", "frames", "convert",
            "info", "index", "search", "serve", "watch"]


def run(*args):
    return subprocess.run([XCLIP, *args], capture_output=True, text=True, timeout=60)


def options_of(help_text):
    """{name: takes_value} from the lines "  --name [VALUE]   help"."""
    found = {}
    for line in help_text.splitlines():
        m = re.match(r"^  --([a-z0-9-]+)( \S+)?", line)
        if m:
            found[m.group(1)] = m.group(2) is not None
    return found


failures = []
for command in COMMANDS:
    shown = run(command, "--help")
    if shown.returncode != 0 or not shown.stdout.startswith("usage: xclip " + command):
        failures.append(f"{command} --help: exit {shown.returncode}: {shown.stderr}")
        continue
    options = options_of(shown.stdout)
    if not options:
        failures.append(f"{command} --help lists no options")
    for name, takes_value in options.items():
        args = [command, f"--{name}", "1"] if takes_value else [command, f"--{name}"]
        answer = run(*args, "--help")  # parsed first, then --help prints and exits 0
        if answer.returncode != 0:
            failures.append(f"{command}: --{name} is shown by --help but refused: {answer.stderr.strip()}")
        if not takes_value:
            refused = run(command, f"--{name}=x", "--help")
            if refused.returncode != 2 or "takes no value" not in refused.stderr:
                failures.append(f"{command}: the flag --{name} accepted a value")
    unknown = run(command, "--no-such-option", "--help")
    if unknown.returncode != 2 or "unknown option --no-such-option" not in unknown.stderr:
        failures.append(f"{command}: an unknown option was not refused")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print(f"cli.help: {len(COMMANDS)} commands, every option shown is parsed and nothing else is")
