"""`python -m privacy publish-policy`: publishes through the running service, or says why not."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta
from pathlib import Path

from policy_support import NEW_TEXT, PolicyWorld

from contracts.policy import GetCurrentPolicy, PolicyVersionView
from privacy import policy_store
from servicekit.clock import utcnow
from support.processes import REPO


async def publish_policy(world: PolicyWorld, *args: str) -> tuple[int, str, str]:
    """Run the command against the world's namespace; exit code, stdout, stderr."""
    settings = world.caller.settings
    env = {
        **os.environ,
        "AMQP_URL": settings.amqp_url,
        "MONGO_URL": settings.mongo_url,
        "BUS_NAMESPACE": settings.bus_namespace,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "privacy",
        "publish-policy",
        *args,
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_cli_refuses_short_notice_and_publishes_with_enough(
    world: PolicyWorld, tmp_path: Path
) -> None:
    """A material change 10 days out exits 1 with the reason; 40 days out is version 2."""
    text = tmp_path / "policy.md"
    text.write_text(NEW_TEXT, encoding="utf-8")
    soon = (utcnow() + timedelta(days=10)).date().isoformat()
    code, _out, err = await publish_policy(
        world, str(text), "--effective", soon, "--material", "--summary", "New processor"
    )
    assert code == 1
    assert "30 days" in err
    assert await world.privacy_db[policy_store.POLICY_VERSIONS].count_documents({}) == 1
    later = (utcnow() + timedelta(days=40)).date().isoformat()
    code, out, err = await publish_policy(
        world, str(text), "--effective", later, "--material", "--summary", "New processor"
    )
    assert code == 0, err
    assert f"published version 2, effective {later}, material=True" in out
    current = await world.ask(GetCurrentPolicy(), PolicyVersionView, "privacy")
    assert current.version == 1
