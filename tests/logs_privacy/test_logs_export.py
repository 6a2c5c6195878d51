"""Locate and export through the real logs service: the subject's records found by partner
id, user id and blind index, each counted once; its own sealed fields opened, another
subject's withheld; never a blind index in the export."""

from __future__ import annotations

from contracts.privacy import Disposition, ExportSubject, LocateSubject, SubjectRef
from support.logs_owner import LogsOwner, sample_agent, sample_ip
from support.privacy_standin import by_category


async def test_export_opens_the_partners_own_ip_and_user_agent(harness: LogsOwner) -> None:
    """A partner's export shows its API requests with IP and user agent in the clear, its
    order facts, and nothing of another partner or any blind index."""
    ip, agent = sample_ip(), sample_agent()
    request = await harness.api_request(partner_id="ptn_exp", ip=ip, user_agent=agent)
    await harness.api_request(partner_id="ptn_other", ip=sample_ip(), user_agent="other/1")
    fact = await harness.order_fact("ptn_exp")

    result = await harness.run(
        ExportSubject(**harness.task(), subject=SubjectRef(partner_id="ptn_exp"))
    )

    export = result.export
    assert export is not None
    [shown] = export["api_request_logs"]
    assert shown["record_id"] == request["_id"]
    assert (shown["ip"], shown["user_agent"], shown["partner_id"]) == (ip, agent, "ptn_exp")
    assert shown["received_at"] == request["received_at"].isoformat()
    assert "withheld" not in shown
    assert [f["record_id"] for f in export["order_facts"]] == [fact]
    assert export["technical_logs"] == []
    assert "_bidx" not in repr(export)
    assert "other/1" not in repr(export)


async def test_export_withholds_fields_sealed_for_another_subject(harness: LogsOwner) -> None:
    """A partner's export lists its user's sign-in but withholds the user's sealed email, IP
    and user agent; the user's own export opens them."""
    email, ip = "staff.member@partner.example.com", sample_ip()
    await harness.technical(
        partner_id="ptn_staff", user_id="usr_staff", email=email, ip=ip, user_agent="b/2"
    )

    partner = await harness.run(
        ExportSubject(**harness.task(), subject=SubjectRef(partner_id="ptn_staff"))
    )
    user = await harness.run(
        ExportSubject(**harness.task(), subject=SubjectRef(user_id="usr_staff"))
    )

    assert partner.export is not None
    assert user.export is not None
    [withheld] = partner.export["technical_logs"]
    assert sorted(withheld["withheld"]) == ["email", "ip", "user_agent"]
    assert email not in repr(partner.export)
    assert ip not in repr(partner.export)
    [opened] = user.export["technical_logs"]
    assert (opened["email"], opened["ip"], opened["user_agent"]) == (email, ip, "b/2")
    assert opened["fields"] == {"outcome": "ok", "attempt": 1}


async def test_export_by_ip_opens_records_from_that_address(harness: LogsOwner) -> None:
    """An IP subject's export opens the user agent of requests from its address, also those
    sealed with a partner's key, found by the blind index."""
    ip, agent = sample_ip(), sample_agent()
    await harness.api_request(partner_id="ptn_ip", ip=ip, user_agent=agent)
    await harness.api_request(partner_id=None, ip=ip, user_agent=agent)

    result = await harness.run(ExportSubject(**harness.task(), subject=SubjectRef(ip=ip)))

    assert result.export is not None
    shown = result.export["api_request_logs"]
    assert [(r["ip"], r["user_agent"]) for r in shown] == [(ip, agent), (ip, agent)]


async def test_locate_counts_each_record_once(harness: LogsOwner) -> None:
    """A record found by two of the subject's identifiers (partner and IP) counts once."""
    ip = sample_ip()
    await harness.api_request(partner_id="ptn_loc", ip=ip, user_agent="c/3")
    await harness.api_request(partner_id="ptn_loc", ip=sample_ip(), user_agent="c/3")
    await harness.api_request(partner_id=None, ip=ip, user_agent="c/3")

    subject = SubjectRef(partner_id="ptn_loc", ip=ip)
    result = await harness.run(LocateSubject(**harness.task(), subject=subject))

    outcomes = by_category(result)
    assert (outcomes["api_request_logs"].disposition, outcomes["api_request_logs"].records) == (
        Disposition.FOUND,
        3,
    )
    assert outcomes["technical_logs"].disposition == Disposition.NONE_HELD
