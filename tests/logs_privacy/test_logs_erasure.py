"""Erasure through the real logs service: the subject's API request logs, technical logs and
order facts deleted, its own keys shredded so copies of its sealed fields no longer open,
others' records untouched, and a repeat finds nothing more."""

from __future__ import annotations

from contracts.privacy import Disposition, EraseSubject, SubjectRef
from logs.order_facts import ORDER_FACTS
from logs.store import API_REQUESTS
from support.logs_owner import LogsOwner, sample_agent, sample_ip
from support.privacy_standin import by_category


async def test_erasing_a_partner_deletes_its_logs_and_shreds_its_key(harness: LogsOwner) -> None:
    """A partner's API requests, technical logs and order facts go, a copy of its sealed IP
    and user agent no longer opens; another partner's and an anonymous record stay readable."""
    ip, agent = sample_ip(), sample_agent()
    mine = await harness.api_request(partner_id="ptn_gone", ip=ip, user_agent=agent)
    await harness.api_request(partner_id="ptn_gone", ip=sample_ip(), user_agent=agent)
    await harness.technical(partner_id="ptn_gone", ip=ip, user_agent=agent)
    await harness.order_fact("ptn_gone")
    theirs = await harness.api_request(partner_id="ptn_stays", ip=ip, user_agent=agent)
    kept_fact = await harness.order_fact("ptn_stays")
    anonymous = await harness.api_request(partner_id=None, ip=sample_ip(), user_agent=agent)

    result = await harness.run(
        EraseSubject(**harness.task(), subject=SubjectRef(partner_id="ptn_gone"))
    )

    outcomes = by_category(result)
    assert {name: (o.disposition, o.records) for name, o in outcomes.items()} == {
        "api_request_logs": (Disposition.DELETED, 2),
        "technical_logs": (Disposition.DELETED, 1),
        "order_facts": (Disposition.DELETED, 1),
        "restricted_subjects": (Disposition.NONE_HELD, 0),
    }
    assert await harness.ids(API_REQUESTS) == {theirs["_id"], anonymous["_id"]}
    assert await harness.sign_in_ids() == set()
    assert await harness.ids(ORDER_FACTS) == {kept_fact}
    assert await harness.opens(mine, "ip") is None
    assert await harness.opens(mine, "user_agent") is None
    assert await harness.opens(theirs, "ip") == ip
    assert await harness.opens(anonymous, "user_agent") == agent


async def test_erasing_an_ip_address_leaves_nothing_readable_of_it(harness: LogsOwner) -> None:
    """Erasure by IP deletes every record from that address (found by blind index), shreds
    the key of its records that had no partner or user, and leaves neither the address, its
    user agent nor its blind index anywhere in the logs database."""
    ip, agent = sample_ip(), sample_agent()
    anonymous = await harness.api_request(partner_id=None, ip=ip, user_agent=agent, status=401)
    await harness.api_request(partner_id="ptn_ipuser", ip=ip, user_agent=agent)
    await harness.technical(ip=ip, user_agent=agent)
    other = await harness.api_request(partner_id="ptn_ipuser", ip=sample_ip(), user_agent="x/1")

    result = await harness.run(EraseSubject(**harness.task(), subject=SubjectRef(ip=ip)))

    outcomes = by_category(result)
    assert (outcomes["api_request_logs"].disposition, outcomes["api_request_logs"].records) == (
        Disposition.DELETED,
        2,
    )
    assert outcomes["technical_logs"].records == 1
    assert await harness.ids(API_REQUESTS) == {other["_id"]}
    assert await harness.opens(anonymous, "ip") is None
    assert await harness.opens(anonymous, "user_agent") is None
    assert await harness.mentions(ip, agent, anonymous["ip_bidx"]) == []


async def test_erasing_a_user_deletes_records_of_its_id_and_email(harness: LogsOwner) -> None:
    """A user subject (id and email) loses its technical logs, also a failed sign-in known
    only by the email; both its user key and its email's key are shredded."""
    email = "erase.me@partner.example.com"
    signed_in = await harness.technical(
        partner_id="ptn_u", user_id="usr_erased", email=email, ip=sample_ip()
    )
    failed = await harness.technical(email=email, ip=sample_ip())
    colleague = await harness.technical(partner_id="ptn_u", user_id="usr_kept", email="k@x.io")

    subject = SubjectRef(user_id="usr_erased", email=email.upper())
    result = await harness.run(EraseSubject(**harness.task(), subject=subject))

    assert by_category(result)["technical_logs"].records == 2
    assert await harness.sign_in_ids() == {colleague["_id"]}
    assert await harness.opens(signed_in, "email") is None
    assert await harness.opens(failed, "email") is None
    assert await harness.opens(colleague, "email") == "k@x.io"


async def test_a_repeated_erasure_finds_nothing_more(harness: LogsOwner) -> None:
    """A second erasure of the same subject (another task) reports nothing held."""
    await harness.api_request(partner_id="ptn_twice", ip=sample_ip(), user_agent="a/1")
    subject = SubjectRef(partner_id="ptn_twice")
    await harness.run(EraseSubject(**harness.task(), subject=subject))

    again = await harness.run(EraseSubject(**harness.task(), subject=subject))

    assert {o.disposition for o in again.outcomes} == {Disposition.NONE_HELD}
