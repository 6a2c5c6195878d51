"""Running the commands devstack needs (package managers, server scripts) with bounded waits."""

import os
import pwd
import subprocess
import tempfile


def run_logged(
    argv: list[str],
    timeout: float,
    *,
    env: dict[str, str] | None = None,
    as_user: str | None = None,
) -> tuple[int, str]:
    """Run a command (as `as_user`, when given); its exit code (-1 when it could not start or
    was stopped after `timeout`) and its output.

    The output goes to a temporary file, not a pipe: `rabbitmq-server -detached` leaves an
    Erlang daemon behind, and a browser may leave helpers, that inherit the output
    descriptors; with a pipe, waiting for end-of-output would last as long as they do.
    """
    home = pwd.getpwnam(as_user).pw_dir if as_user else None
    if as_user:  # what `su` would set for that user
        env = {**(env or os.environ), "HOME": str(home), "USER": as_user, "LOGNAME": as_user}
    with tempfile.TemporaryFile() as output:
        try:
            completed = subprocess.run(  # dev tooling: our own argv, no shell  # nosec B603
                argv,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                env=env,
                user=as_user,
                group=as_user,
                extra_groups=[] if as_user else None,
                cwd=home,
                check=False,
            )
        except subprocess.TimeoutExpired:
            code = -1
        except OSError as exc:
            return -1, str(exc)
        else:
            code = completed.returncode
        output.seek(0)
        text = output.read().decode("utf-8", errors="replace").strip()
    if code == -1 and not text:
        text = f"(no output; stopped after {timeout:.0f} s)"
    return code, text
