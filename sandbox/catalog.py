"""The twin's tables of what a fresh HubSpot portal holds: each object type's own properties
(with their types and, for enumerations, their options), property groups, the properties a
create requires, the default deal and ticket pipelines and the order of lifecycle stages.

Written from HubSpot's CRM guides and the property definitions its API returns, never from
SimCRM's client. A portal starts from these and grows with what is created through the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from sandbox.hubspot import ObjectType


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class Builtin:
    """A property HubSpot defines: its type, field type, group and (enumerations) options."""

    type: str
    field_type: str
    group: str
    options: tuple[Option, ...] = ()
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class Stage:
    id: str
    label: str
    metadata: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Pipeline:
    id: str
    label: str
    stages: tuple[Stage, ...]

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)


def _options(*values: str) -> tuple[Option, ...]:
    return tuple(Option(v, v.replace("_", " ").title()) for v in values)


#: Contact lifecycle stages in HubSpot's order; a stage may only move forward.
LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
_LIFECYCLE_LABELS = (
    "Subscriber", "Lead", "Marketing Qualified Lead", "Sales Qualified Lead", "Opportunity",
    "Customer", "Evangelist", "Other",
)  # fmt: skip
LIFECYCLE_OPTIONS = tuple(
    Option(v, label) for v, label in zip(LIFECYCLE_STAGES, _LIFECYCLE_LABELS, strict=True)
)

DEAL_PIPELINE = Pipeline(
    "default",
    "Sales Pipeline",
    tuple(
        Stage(stage, label, {"isClosed": str(closed).lower(), "probability": probability})
        for stage, label, probability, closed in (
            ("appointmentscheduled", "Appointment Scheduled", "0.2", False),
            ("qualifiedtobuy", "Qualified To Buy", "0.4", False),
            ("presentationscheduled", "Presentation Scheduled", "0.6", False),
            ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", False),
            ("contractsent", "Contract Sent", "0.9", False),
            ("closedwon", "Closed Won", "1.0", True),
            ("closedlost", "Closed Lost", "0.0", True),
        )
    ),
)
TICKET_PIPELINE = Pipeline(
    "0",
    "Support Pipeline",
    tuple(
        Stage(stage, label, {"ticketState": state})
        for stage, label, state in (
            ("1", "New", "OPEN"),
            ("2", "Waiting on contact", "OPEN"),
            ("3", "Waiting on us", "OPEN"),
            ("4", "Closed", "CLOSED"),
        )
    ),
)
#: The pipelines a fresh portal has, per object type that has pipelines.
DEFAULT_PIPELINES: Mapping[ObjectType, tuple[Pipeline, ...]] = MappingProxyType(
    {ObjectType.DEAL: (DEAL_PIPELINE,), ObjectType.TICKET: (TICKET_PIPELINE,)}
)
#: The property naming an object's pipeline, and its stage, per type that has pipelines.
PIPELINE_PROPERTIES: Mapping[ObjectType, tuple[str, str]] = MappingProxyType(
    {
        ObjectType.DEAL: ("pipeline", "dealstage"),
        ObjectType.TICKET: ("hs_pipeline", "hs_pipeline_stage"),
    }
)

#: What a create must carry (HubSpot's guides; the pipeline defaults to the first one).
REQUIRED: Mapping[ObjectType, tuple[str, ...]] = MappingProxyType(
    {
        ObjectType.CONTACT: (),
        ObjectType.COMPANY: (),
        ObjectType.DEAL: ("dealname", "dealstage"),
        ObjectType.TICKET: ("subject", "hs_pipeline_stage"),
        ObjectType.NOTE: ("hs_timestamp",),
        ObjectType.CALL: ("hs_timestamp",),
        ObjectType.TASK: ("hs_timestamp",),
    }
)

#: The property groups a fresh portal has, per type (name → label).
DEFAULT_GROUPS: Mapping[ObjectType, Mapping[str, str]] = MappingProxyType(
    {
        ObjectType.CONTACT: {
            "contactinformation": "Contact information",
            "contact_activity": "Contact activity",
            "conversioninformation": "Conversion information",
        },
        ObjectType.COMPANY: {
            "companyinformation": "Company information",
            "company_activity": "Company activity",
        },
        ObjectType.DEAL: {"dealinformation": "Deal information", "deal_activity": "Deal activity"},
        ObjectType.TICKET: {"ticketinformation": "Ticket information"},
        ObjectType.NOTE: {"engagement": "Engagement", "noteinformation": "Note information"},
        ObjectType.CALL: {"engagement": "Engagement", "callinformation": "Call information"},
        ObjectType.TASK: {"engagement": "Engagement", "taskinformation": "Task information"},
    }
)


def _table(group: str, **props: Builtin | str) -> dict[str, Builtin]:
    """Properties of one group; a string is shorthand for a type with its usual field type."""
    fields = {
        "string": "text",
        "number": "number",
        "datetime": "date",
        "date": "date",
        "bool": "booleancheckbox",
        "phone_number": "phonenumber",
    }
    return {
        name: spec if isinstance(spec, Builtin) else Builtin(spec, fields[spec], group)
        for name, spec in props.items()
    }


def _enum(group: str, options: tuple[Option, ...], field_type: str = "select") -> Builtin:
    return Builtin("enumeration", field_type, group, options)


def _system(group: str, modified: str) -> dict[str, Builtin]:
    return {
        "createdate": Builtin("datetime", "date", group),
        modified: Builtin("datetime", "date", group, read_only=True),
        "hs_object_id": Builtin("number", "number", group, read_only=True),
        "hubspot_owner_id": Builtin("enumeration", "select", group),
    }


_LEAD_STATUS = _options(
    "NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT",
    "CONNECTED", "BAD_TIMING",
)  # fmt: skip
_CALL_STATUS = _options(
    "BUSY", "CALLING_CRM_USER", "CANCELED", "COMPLETED", "CONNECTING", "FAILED", "IN_PROGRESS",
    "MISSED", "NO_ANSWER", "QUEUED", "RINGING",
)  # fmt: skip

_CONTACT = "contactinformation"
_COMPANY = "companyinformation"
_DEAL = "dealinformation"
_TICKET = "ticketinformation"
_ENGAGEMENT = "engagement"

# fmt: off
BUILTIN_PROPERTIES: Mapping[ObjectType, Mapping[str, Builtin]] = MappingProxyType(
    {
        ObjectType.CONTACT: MappingProxyType(
            {
                **_system(_CONTACT, "lastmodifieddate"),
                **_table(
                    _CONTACT,
                    email="string", firstname="string", lastname="string",
                    phone="phone_number", mobilephone="phone_number", fax="phone_number",
                    salutation="string", address="string", city="string", state="string",
                    zip="string", country="string", company="string", jobtitle="string",
                    website="string", industry="string", annualrevenue="string",
                    numemployees="string", message="string", date_of_birth="string",
                    closedate="datetime", hs_language="string", twitterhandle="string",
                ),
                "lifecyclestage": _enum(_CONTACT, LIFECYCLE_OPTIONS, "radio"),
                "hs_lead_status": _enum(_CONTACT, _LEAD_STATUS, "radio"),
            }
        ),
        ObjectType.COMPANY: MappingProxyType(
            {
                **_system(_COMPANY, "hs_lastmodifieddate"),
                **_table(
                    _COMPANY,
                    name="string", domain="string", website="string", phone="phone_number",
                    address="string", address2="string", city="string", state="string",
                    zip="string", country="string", industry="string",
                    numberofemployees="number", annualrevenue="number", description="string",
                    founded_year="string", timezone="string", linkedin_company_page="string",
                    hs_additional_domains="string", is_public="bool", about_us="string",
                ),
                "lifecyclestage": _enum(_COMPANY, LIFECYCLE_OPTIONS, "radio"),
                "hs_lead_status": _enum(_COMPANY, _LEAD_STATUS, "radio"),
                "type": _enum(
                    _COMPANY, _options("PROSPECT", "PARTNER", "RESELLER", "VENDOR", "OTHER")
                ),
            }
        ),
        ObjectType.DEAL: MappingProxyType(
            {
                **_system(_DEAL, "hs_lastmodifieddate"),
                **_table(
                    _DEAL,
                    dealname="string", amount="number", closedate="datetime",
                    description="string", closed_lost_reason="string",
                    closed_won_reason="string", deal_currency_code="string",
                ),
                "pipeline": Builtin("enumeration", "select", _DEAL),
                "dealstage": Builtin("enumeration", "radio", _DEAL),
                "dealtype": _enum(_DEAL, (
                    Option("newbusiness", "New Business"),
                    Option("existingbusiness", "Existing Business"),
                ), "radio"),
                "hs_priority": _enum(_DEAL, _options("low", "medium", "high")),
            }
        ),
        ObjectType.TICKET: MappingProxyType(
            {
                **_system(_TICKET, "hs_lastmodifieddate"),
                **_table(
                    _TICKET,
                    subject="string", content="string", closed_date="datetime",
                    hs_resolution="string",
                ),
                "hs_pipeline": Builtin("enumeration", "select", _TICKET),
                "hs_pipeline_stage": Builtin("enumeration", "select", _TICKET),
                "hs_ticket_priority": _enum(
                    _TICKET, _options("LOW", "MEDIUM", "HIGH", "URGENT")
                ),
                "hs_ticket_category": _enum(_TICKET, _options(
                    "PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY"
                ), "checkbox"),
                "source_type": _enum(_TICKET, _options("CHAT", "EMAIL", "FORM", "PHONE")),
            }
        ),
        ObjectType.NOTE: MappingProxyType(
            {
                **_system(_ENGAGEMENT, "hs_lastmodifieddate"),
                **_table(
                    _ENGAGEMENT,
                    hs_timestamp="datetime", hs_note_body="string", hs_attachment_ids="string",
                ),
            }
        ),
        ObjectType.CALL: MappingProxyType(
            {
                **_system(_ENGAGEMENT, "hs_lastmodifieddate"),
                **_table(
                    _ENGAGEMENT,
                    hs_timestamp="datetime", hs_call_title="string", hs_call_body="string",
                    hs_call_duration="number", hs_call_from_number="string",
                    hs_call_to_number="string", hs_call_recording_url="string",
                    hs_call_disposition="string", hs_attachment_ids="string",
                ),
                "hs_call_direction": _enum(_ENGAGEMENT, _options("INBOUND", "OUTBOUND")),
                "hs_call_status": _enum(_ENGAGEMENT, _CALL_STATUS),
                "hs_call_source": _enum(_ENGAGEMENT, _options("INTEGRATIONS_PLATFORM")),
            }
        ),
        ObjectType.TASK: MappingProxyType(
            {
                **_system(_ENGAGEMENT, "hs_lastmodifieddate"),
                **_table(
                    _ENGAGEMENT,
                    hs_timestamp="datetime", hs_task_subject="string", hs_task_body="string",
                    hs_task_reminders="string", hs_attachment_ids="string",
                ),
                "hs_task_status": _enum(_ENGAGEMENT, _options(
                    "NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"
                )),
                "hs_task_priority": _enum(
                    _ENGAGEMENT, _options("NONE", "LOW", "MEDIUM", "HIGH")
                ),
                "hs_task_type": _enum(_ENGAGEMENT, _options(
                    "EMAIL", "CALL", "TODO", "LINKED_IN", "MEETING"
                )),
            }
        ),
    }
)

# fmt: on

#: Longest value HubSpot stores in a single-line or multi-line text property.
MAX_TEXT_LENGTH = 65_536
