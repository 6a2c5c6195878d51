"""`python -m privacy reapply-erasures`: starts a run and follows it to the last answer."""

from __future__ import annotations

import asyncio
import contextlib
import io

from privacy_ledger_support import OWNER, Ledgered, submit

from contracts.erasure_ledger import ErasureReapplied, ReapplyErasure
from contracts.privacy import CategoryOutcome, Disposition, RequestType, SubjectRef
from privacy import reapply_cli
from privacy.settings import PrivacySettings
from support.waiting import eventually


async def test_the_command_reports_the_run_until_every_answer_is_in(ledgered: Ledgered) -> None:
    """With one erasure in the ledger and beta answering, the command prints the run and a
    last progress line with every answer in and the records erased again, and exits 0 (the
    services running in this process print their logs to the same stdout: only the
    command's lines, which start with the run id, are read)."""
    await submit(ledgered.client, RequestType.ERASURE, SubjectRef(email="c@example.com"))
    await eventually(
        lambda: ledgered.db["erasure_ledger"].count_documents({}), what="the ledger entry"
    )
    settings = PrivacySettings.model_validate(ledgered.privacy.settings.model_dump())
    printed = io.StringIO()

    def run_command() -> int:
        with contextlib.redirect_stdout(printed):
            return reapply_cli.main(["--by", "officer", "--timeout", "20"], settings)

    command = asyncio.create_task(asyncio.to_thread(run_command))
    [sent] = await eventually(
        lambda: ledgered.owner.heard_of(ReapplyErasure), what="the entry sent to beta"
    )
    await ledgered.client.bus.publish(
        ErasureReapplied(
            run_id=sent.run_id,
            request_id=sent.request_id,
            service=OWNER,
            succeeded=True,
            outcomes=[
                CategoryOutcome(category="notes", records=2, disposition=Disposition.DELETED)
            ],
        )
    )
    assert await asyncio.wait_for(command, timeout=30) == 0
    lines = [line for line in printed.getvalue().splitlines() if line.startswith("rap_")]
    assert lines[0] == f"{sent.run_id}: 1 erasures to {OWNER}"
    assert lines[-1] == f"{sent.run_id}: 1/1 answers, 0 failed, 2 records erased again"


def test_a_since_without_a_timezone_is_refused_before_anything_is_sent() -> None:
    """`--since` must name its timezone: exit 2 and nothing sent (no bus is reached)."""
    settings = PrivacySettings(amqp_url="amqp://guest:guest@127.0.0.1:1/")
    assert reapply_cli.main(["--by", "x", "--since", "2026-11-01T00:00:00"], settings) == 2
