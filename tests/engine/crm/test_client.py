"""The HubSpot client against the sandbox over real HTTP: writes, batches, idempotent-create
helpers, token checks, the limiter around every call, and tokens kept secret."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from redis.asyncio import Redis
from structlog.testing import capture_logs

from core.clock import ManualClock
from engine.crm import (
    SIMCRM_KEY,
    Association,
    AuthFailed,
    BatchTooLarge,
    CrmError,
    ErrorCategory,
    HubSpotTransport,
    NetworkError,
    ObjectInput,
    ObjectType,
    PortalClient,
    Throttled,
    UpdateInput,
    UpsertInput,
    ValidationFailed,
    check_token,
    hs_timestamp,
)
from limits import LimitConfig, Limiter, Reason
from sandbox import Fault, Sandbox
from sandbox.hubspot import ObjectType as TwinType
from tests.support.sandboxes import PORTAL, TOKEN, SandboxFactory

Contacts = ObjectType.CONTACT


def contact(n: int, **extra: str) -> ObjectInput:
    return ObjectInput({"email": f"person{n}@example.com", "firstname": f"P{n}", **extra})


async def test_batch_create_settles_every_input(hubspot: PortalClient, sandbox: Sandbox) -> None:
    """A batch mixing new contacts, one whose email exists and one with a bad email answers 207
    and settles per input, by email: created ids, a conflict for the existing contact (to be
    read back by its email), a validation failure."""
    existing = await hubspot.create(Contacts, contact(0))
    result = await hubspot.batch_create(
        Contacts, [contact(1), contact(0), contact(2), ObjectInput({"email": "not-an-email"})]
    )
    assert result.status == 207
    first, duplicate, second, bad = result.items
    assert (first.ok, first.new, second.ok) == (True, True, True)
    assert (duplicate.ok, duplicate.category) == (False, ErrorCategory.CONFLICT)
    read = await hubspot.batch_read(Contacts, ["PERSON0@example.com"], id_property="email")
    assert read.found["PERSON0@example.com"].id == existing.id
    assert (bad.ok, bad.category, bad.retryable) == (False, ErrorCategory.VALIDATION, False)
    assert "not-an-email" in (bad.message or "")
    stored = {o.id: o.properties["email"] for o in sandbox.objects(Contacts)}
    assert stored[first.id or ""] == "person1@example.com"
    assert len(stored) == 3


async def test_101_inputs_are_refused_before_sending(
    hubspot: PortalClient, sandbox: Sandbox, limiter: Limiter
) -> None:
    """A 101-input batch raises BatchTooLarge without a request or a limiter slot spent."""
    with pytest.raises(BatchTooLarge, match="at most 100"):
        await hubspot.batch_create(Contacts, [contact(n) for n in range(101)])
    with pytest.raises(BatchTooLarge):
        await hubspot.batch_archive(Contacts, [str(n) for n in range(101)])
    assert sandbox.stats().requests == 0
    assert (await limiter.state(PORTAL)).window_used == 0
    full = await hubspot.batch_create(Contacts, [contact(n) for n in range(100)])
    assert (full.status, len(full.succeeded)) == (201, 100)


async def test_contacts_upsert_on_email_is_idempotent(
    hubspot: PortalClient, sandbox: Sandbox
) -> None:
    """Upserting the same emails twice creates them once: ``new`` then not new, same ids."""
    inputs = [UpsertInput(f"u{n}@example.com", {"firstname": f"U{n}"}) for n in range(3)]
    first = await hubspot.batch_upsert(Contacts, inputs, id_property="email")
    again = await hubspot.batch_upsert(Contacts, inputs, id_property="email")
    assert [i.new for i in first.items] == [True, True, True]
    assert [i.new for i in again.items] == [False, False, False]
    assert [i.id for i in first.items] == [i.id for i in again.items]
    assert sandbox.stats().objects["contacts"] == 3


async def test_companies_upsert_on_a_unique_simcrm_key(
    hubspot: PortalClient, sandbox: Sandbox
) -> None:
    """ensure_simcrm_properties creates simcrm_key as a unique property of companies (once per
    client); upserting on it twice stores one company per key."""
    created = await hubspot.ensure_simcrm_properties(ObjectType.COMPANY)
    assert SIMCRM_KEY in created
    assert await hubspot.ensure_simcrm_properties(ObjectType.COMPANY) == []
    requests = sandbox.stats().requests
    assert sandbox.state.store.is_unique(TwinType.COMPANY, SIMCRM_KEY)
    inputs = [UpsertInput(f"sim1:{n}:company", {"name": f"Co {n}"}) for n in range(2)]
    await hubspot.batch_upsert(ObjectType.COMPANY, inputs, id_property=SIMCRM_KEY)
    again = await hubspot.batch_upsert(ObjectType.COMPANY, inputs, id_property=SIMCRM_KEY)
    assert [i.new for i in again.items] == [False, False]
    stats = sandbox.stats()
    assert (stats.objects["companies"], stats.duplicates_total) == (2, 0)
    assert stats.requests == requests + 2


async def test_simcrm_properties_must_exist_before_use(hubspot: PortalClient) -> None:
    """Like a real account, the sandbox refuses a simcrm_* property never created, naming it."""
    with pytest.raises(ValidationFailed, match="simcrm_key"):
        await hubspot.create(ObjectType.DEAL, ObjectInput({"dealname": "d", SIMCRM_KEY: "k"}))


async def test_batch_update_moves_stages_and_reports_missing_objects(
    hubspot: PortalClient, sandbox: Sandbox
) -> None:
    """batch_update overwrites lifecycle stages; an id that does not exist is a not_found item."""
    made = await hubspot.batch_create(Contacts, [contact(1), contact(2)])
    ids = [i.id or "" for i in made.items]
    result = await hubspot.batch_update(
        Contacts,
        [UpdateInput(ids[0], {"lifecyclestage": "marketingqualifiedlead"}),
         UpdateInput("999", {"lifecyclestage": "lead"}),
         UpdateInput(ids[1], {"lifecyclestage": "customer"})],
    )  # fmt: skip
    assert result.status == 207
    assert [i.ok for i in result.items] == [True, False, True]
    assert result.items[1].category is ErrorCategory.NOT_FOUND
    stages = {o.id: o.properties.get("lifecyclestage") for o in sandbox.objects(Contacts)}
    assert stages == {ids[0]: "marketingqualifiedlead", ids[1]: "customer"}


async def test_read_archive_and_batch_read(hubspot: PortalClient) -> None:
    """Objects read back by id and by email; archived ones read as missing."""
    made = await hubspot.batch_create(Contacts, [contact(1), contact(2)])
    one, two = (i.id or "" for i in made.items)
    found = await hubspot.batch_read(Contacts, [one, two, "404"], properties=["firstname"])
    assert set(found.found) == {one, two}
    assert found.missing == ("404",)
    by_email = await hubspot.read(Contacts, "person2@example.com", id_property="email")
    assert by_email is not None
    assert by_email.id == two
    await hubspot.archive(Contacts, one)
    await hubspot.batch_archive(Contacts, [two])
    assert await hubspot.read(Contacts, one) is None
    assert (await hubspot.batch_read(Contacts, [one, two])).missing == (one, two)


async def test_activities_carry_hs_timestamp_and_inline_associations(
    hubspot: PortalClient, sandbox: Sandbox
) -> None:
    """A note created with hs_timestamp and an inline association (type 202) is stored with
    both; the contact sees the note; deals link to contact (3) and company (341)."""
    person = await hubspot.create(Contacts, contact(1))
    company = await hubspot.create(ObjectType.COMPANY, ObjectInput({"name": "Acme"}))
    note = await hubspot.create(
        ObjectType.NOTE,
        ObjectInput(
            {"hs_timestamp": hs_timestamp(1_767_603_600_123), "hs_note_body": "called"},
            [Association(Contacts, person.id or "")],
        ),
    )
    deal = await hubspot.create(
        ObjectType.DEAL,
        ObjectInput(
            {"dealname": "Big", "dealstage": "appointmentscheduled"},
            [
                Association(Contacts, person.id or ""),
                Association(ObjectType.COMPANY, company.id or ""),
            ],
        ),
    )
    (stored_note,) = sandbox.objects(ObjectType.NOTE)
    assert stored_note.properties["hs_timestamp"] == "2026-01-05T09:00:00.123Z"
    assert [(a.to_type.value, a.to_id, a.type_id) for a in stored_note.associations] == [
        ("contact", person.id, 202)
    ]
    (stored_deal,) = sandbox.objects(ObjectType.DEAL)
    assert {(a.to_type.value, a.type_id) for a in stored_deal.associations} == {
        ("contact", 3),
        ("company", 341),
    }
    read = await hubspot.read(Contacts, person.id or "", associations=[ObjectType.NOTE])
    assert read is not None
    assert read.associations == {"notes": (note.id,)}
    linked = await hubspot.batch_associate(
        Contacts, ObjectType.COMPANY, [(person.id or "", company.id or "")]
    )
    assert linked.items[0].ok
    assert deal.ok


async def test_engagements_without_hs_timestamp_are_refused(hubspot: PortalClient) -> None:
    """Notes, calls and tasks need hs_timestamp (HubSpot's validation error)."""
    for kind in (ObjectType.NOTE, ObjectType.CALL, ObjectType.TASK):
        with pytest.raises(ValidationFailed, match="hs_timestamp"):
            await hubspot.create(kind, ObjectInput({"hs_note_body": "x"}))


async def test_search_by_key_waits_out_the_index_lag(
    sandbox_factory: SandboxFactory,
    limiter: Limiter,
    transport_factory: Callable[..., Awaitable[HubSpotTransport]],
    manual_clock: ManualClock,
) -> None:
    """A note found by simcrm_key only once the search index caught up (2 s lag here)."""
    sandbox = await sandbox_factory(search_lag_ms=2_000)
    hubspot = PortalClient(await transport_factory(sandbox.url, limiter=limiter), PORTAL, TOKEN)
    await hubspot.ensure_simcrm_properties(ObjectType.NOTE)
    stamp = hs_timestamp(manual_clock.now_ms())
    note = await hubspot.create(
        ObjectType.NOTE, ObjectInput({"hs_timestamp": stamp, SIMCRM_KEY: "s:1:note:0"})
    )
    assert await hubspot.find_by_key(ObjectType.NOTE, ["s:1:note:0"]) == {"s:1:note:0": []}
    manual_clock.advance(2_000)
    found = await hubspot.find_by_key(ObjectType.NOTE, ["s:1:note:0", "s:1:note:1"])
    assert [o.id for o in found["s:1:note:0"]] == [note.id]
    assert found["s:1:note:1"] == []


async def test_check_token_names_the_account(
    sandbox_factory: SandboxFactory, transport_factory: Callable[..., Awaitable[HubSpotTransport]]
) -> None:
    """check_token returns the portal id of a good token, and raises AuthFailed for a bad one
    and for one lacking the CRM scopes."""
    sandbox = await sandbox_factory(tokens=(TOKEN,), portal_id=4_242)
    transport = await transport_factory(sandbox.url)
    details = await check_token(transport, TOKEN)
    assert (details.portal_id, details.time_zone) == ("4242", "UTC")
    with pytest.raises(AuthFailed):
        await check_token(transport, "pat-na1-wrong")
    sandbox.reconfigure(denied_types=(Contacts,))
    with pytest.raises(AuthFailed, match="scopes"):
        await check_token(transport, TOKEN)


async def test_tokens_never_show_in_logs_errors_or_reprs(
    sandbox_factory: SandboxFactory,
    limiter: Limiter,
    transport_factory: Callable[..., Awaitable[HubSpotTransport]],
) -> None:
    """Failing calls (401, a dropped connection) log and raise without the token; the
    transport and portal reprs hide it."""
    sandbox = await sandbox_factory(tokens=("pat-other", TOKEN + "-old"))
    transport = await transport_factory(sandbox.url, limiter=limiter)
    portal = PortalClient(transport, PORTAL, TOKEN)
    errors: list[BaseException] = []
    config_repr = repr(sandbox.config)  # it knows a token ending like ours
    with capture_logs() as logs:
        with pytest.raises(AuthFailed) as denied:
            await portal.create(Contacts, contact(1))
        errors.append(denied.value)
        sandbox.reconfigure(tokens=(), error_rate=1.0, faults=(Fault.DROP,))
        with pytest.raises(NetworkError) as dropped:
            await portal.create(Contacts, contact(1))
        errors.append(dropped.value)
    parts = [repr(logs), repr(transport), repr(portal), config_repr]
    text = " ".join([*parts, *map(str, errors), *map(repr, errors)])
    assert logs
    assert TOKEN not in text
    assert TOKEN[-12:] not in text


async def test_limiter_refusal_raises_throttled_and_sends_nothing(
    sandbox: Sandbox,
    redis: Redis,
    transport_factory: Callable[..., Awaitable[HubSpotTransport]],
    manual_clock: ManualClock,
) -> None:
    """With the window spent, a call raises Throttled (wait and reason) before any request."""
    tight = Limiter(redis, LimitConfig(window_limit=2), clock=manual_clock)
    transport = await transport_factory(sandbox.url, limiter=tight)
    portal = PortalClient(transport, PORTAL, TOKEN)
    await portal.create(Contacts, contact(1))
    await portal.create(Contacts, contact(2))
    with pytest.raises(Throttled) as refused:
        await portal.create(Contacts, contact(3))
    assert refused.value.reason == Reason.WINDOW
    # The full window: 10 s plus the margin, learnt down from 500 ms by the two answers.
    assert refused.value.wait_ms == (await tight.state(PORTAL)).window_ms == 10_480
    assert sandbox.stats().requests == 2


async def test_waiting_client_sleeps_through_the_window(
    sandbox: Sandbox, redis: Redis, transport_factory: Callable[..., Awaitable[HubSpotTransport]]
) -> None:
    """With wait_for_limits, the client sleeps out the limiter's wait (a 300 ms window here,
    on the real clock) and every call goes through."""
    tight = Limiter(redis, LimitConfig(window_limit=2, window_ms=300, window_margin_ms=0))
    transport = HubSpotTransport(sandbox.url, limiter=tight, wait_for_limits=True)
    async with transport:
        portal = PortalClient(transport, PORTAL, TOKEN)
        for n in range(5):
            assert (await portal.create(Contacts, contact(n))).ok
    assert sandbox.stats().objects["contacts"] == 5


async def test_a_lost_answer_leaves_the_object_created(
    sandbox: Sandbox, hubspot: PortalClient
) -> None:
    """When the connection drops after the request was applied, the client reports a network
    error that may have been applied — and indeed the sandbox stored the object."""
    sandbox.reconfigure(error_rate=1.0, faults=(Fault.LOST,))
    with pytest.raises(NetworkError) as lost:
        await hubspot.create(Contacts, contact(1))
    assert lost.value.maybe_applied
    assert sandbox.stats().objects["contacts"] == 1
    sandbox.reconfigure(error_rate=0.0)
    again = await hubspot.create(Contacts, contact(1))
    assert (again.ok, again.new) == (True, False)


async def test_duplicate_ids_in_one_batch_are_refused_before_sending(hubspot: PortalClient) -> None:
    """HubSpot refuses a batch naming one id twice; the client refuses it first."""
    with pytest.raises(CrmError, match="twice"):
        await hubspot.batch_upsert(
            Contacts, [UpsertInput("a@b.co", {}), UpsertInput("a@b.co", {})], id_property="email"
        )


async def test_shuffled_results_without_trace_ids_are_matched_by_key(
    hubspot: PortalClient, sandbox: Sandbox
) -> None:
    """HubSpot may answer a batch in any order and without echoing trace ids: each input still
    gets its own object's id, matched by its ``simcrm_key``."""
    sandbox.reconfigure(shuffle_results=True, echo_trace_ids=False, seed=9)
    await hubspot.ensure_simcrm_properties(ObjectType.NOTE)
    inputs = [
        ObjectInput(
            {"hs_timestamp": "1767603600000", "hs_note_body": f"n{n}", "simcrm_key": f"k{n}"}
        )
        for n in range(40)
    ]
    result = await hubspot.batch_create(ObjectType.NOTE, inputs)
    keys = {o.id: o.properties["simcrm_key"] for o in sandbox.objects(ObjectType.NOTE)}
    assert [keys[item.id or ""] for item in result.items] == [f"k{n}" for n in range(40)]
