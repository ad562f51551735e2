"""Record contents: pure functions of (seed, index), valid HubSpot properties, unique emails."""

from __future__ import annotations

import subprocess
import sys

import orjson
import pytest

from engine.model.scenario import SCENARIO_NAMES
from tests.engine.model.helpers import model

CONTACT_KEYS = {
    "email",
    "firstname",
    "lastname",
    "phone",
    "city",
    "lifecyclestage",
    "createdate",
    "simcrm_simulation_id",
    "simcrm_record_index",
    "simcrm_key",
    "simcrm_simulated_at",
}


@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
def test_emails_are_unique_and_contacts_are_complete(scenario: str) -> None:
    """20,000 contacts of one simulation have 20,000 distinct emails; every contact has the
    HubSpot and audit properties, all strings, createdate = its scheduled time."""
    sim = model(scenario=scenario, total_records=20_000)
    emails = set()
    for index in range(20_000):
        contact = sim.contact(index)
        assert contact.keys() >= CONTACT_KEYS
        assert all(isinstance(value, str) and value for value in contact.values())
        assert contact["createdate"] == str(sim.time_of(index))
        assert contact["simcrm_key"] == f"7:contact:{index}"
        emails.add(contact["email"])
    assert len(emails) == 20_000


def test_business_contacts_match_their_company_and_deal() -> None:
    """In b2b_saas a contact's company property, its email domain, its company object and its
    deal name agree; a deal has a pipeline, a first stage, an amount and a closedate after it."""
    sim = model(scenario="b2b_saas")
    records = sim.records
    for index in range(200):
        contact = sim.contact(index)
        company = records.company(index, 1_000)
        deal = records.deal(index, 1_000)
        assert contact["company"] == company["name"]
        assert contact["email"].endswith("@" + company["domain"])
        assert deal["dealname"].startswith(company["name"])
        assert deal["pipeline"] == "default"
        assert deal["dealstage"] == "appointmentscheduled"
        assert float(deal["amount"]) > 0
        assert int(deal["closedate"]) > 1_000
        assert company["simcrm_key"] == f"7:company:{index}:0"


def test_consumers_use_free_mail_and_have_no_company() -> None:
    """b2c_ecommerce contacts have a free-mail address and no company or job title."""
    contact = model(scenario="b2c_ecommerce").contact(3)
    assert "company" not in contact
    assert "jobtitle" not in contact
    assert (
        contact["email"].split("@")[1] in model(scenario="b2c_ecommerce").records.pools.free_domains
    )


def sample_rows(method: str) -> list[object]:
    """Times, contacts and plans of every 37th record of a fixed simulation."""
    sim = model(sim_id=11, distribution_method=method, seed=123456789)
    return [
        [
            sim.time_of(i),
            sim.contact(i),
            [(a.kind.value, a.ordinal, a.at_ms) for a in sim.plan(i).activities],
        ]
        for i in range(0, 1000, 37)
    ]


_CHILD = """
import orjson, sys
from tests.engine.model.test_records import sample_rows
sys.stdout.write(orjson.dumps(sample_rows(sys.argv[1])).decode())
"""


@pytest.mark.parametrize("method", ["bell", "poisson"])
def test_two_processes_agree(method: str) -> None:
    """Two interpreters (each with its own hash salt) produce the same times, contents and
    plans for the same seed: nothing depends on hash() or on process state."""
    outputs = [
        subprocess.run(
            [sys.executable, "-c", _CHILD, method],
            capture_output=True,
            check=True,
            env={"PYTHONHASHSEED": salt, "PATH": ""},
        ).stdout
        for salt in ("1", "2")
    ]
    assert outputs[0] == outputs[1]
    assert orjson.loads(outputs[0]) == orjson.loads(orjson.dumps(sample_rows(method)))
