"""Salesforce Outbound Messages: SOAP XML in, one item per Notification, `<Ack>true</Ack>` out.

Salesforce resends a message until it is acknowledged and may send a notification twice,
so each notification's `Id` is its idempotency key. The XML is read by
`gateway.http.xmlbody` (defusedxml: no entities, no external references; a depth bound).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree.ElementTree import Element

from starlette.requests import Request
from starlette.responses import Response

from gateway.http.errors import HTTPProblem
from gateway.http.xmlbody import parse_xml, walk
from integrations.hooks.adapters import Answer, Item

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_TYPES = ("text/xml", "application/xml", "application/soap+xml")
# Fields of the message every notification carries; SessionId is a credential: never kept.
MESSAGE_FIELDS = ("OrganizationId", "ActionId", "EnterpriseUrl", "PartnerUrl")

ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}">'
    "<soapenv:Body>"
    f'<notificationsResponse xmlns="{OUTBOUND}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body>"
    "</soapenv:Envelope>"
)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(parent: Element, name: str) -> str | None:
    child = parent.find(f"{{{OUTBOUND}}}{name}")
    if child is None or child.get(f"{{{XSI}}}nil") == "true":
        return None
    return (child.text or "").strip()


def sobject_fields(element: Element) -> dict[str, Any]:
    """An sObject as a flat dict: `type` (e.g. "Contact") plus each field by its local name.

    Nested sObjects become nested dicts; built with a stack, not recursion.
    """
    fields: dict[str, Any] = {}
    built: dict[int, dict[str, Any]] = {id(element): fields}
    for node, parent in walk(element):
        if parent is None:
            kind = node.get(f"{{{XSI}}}type")
            if kind:
                fields["type"] = kind.split(":", 1)[-1]
            continue
        into = built[id(parent)]
        if node.get(f"{{{XSI}}}nil") == "true":
            into[_local(node.tag)] = None
        elif len(node):
            nested: dict[str, Any] = {}
            kind = node.get(f"{{{XSI}}}type")
            if kind:
                nested["type"] = kind.split(":", 1)[-1]
            built[id(node)] = into[_local(node.tag)] = nested
        else:
            into[_local(node.tag)] = (node.text or "").strip()
    return fields


def parse_notifications(raw: bytes) -> list[dict[str, Any]]:
    """Every notification of an Outbound Message; raises `HTTPProblem` 400 when malformed."""
    root = parse_xml(raw)
    body = root.find(f"{{{SOAP_ENV}}}Body")
    message = body.find(f"{{{OUTBOUND}}}notifications") if body is not None else None
    if message is None:
        raise HTTPProblem(400, "malformed_xml", "no Salesforce <notifications> in a SOAP body")
    shared = {name: _text(message, name) for name in MESSAGE_FIELDS}
    out = []
    for note in message.findall(f"{{{OUTBOUND}}}Notification"):
        sobject = note.find(f"{{{OUTBOUND}}}sObject")
        out.append(
            {
                **shared,
                "Id": _text(note, "Id"),
                "sObject": sobject_fields(sobject) if sobject is not None else {},
            }
        )
    return out


class OutboundMessageAdapter:
    """Parses Outbound Messages; answers `<Ack>true</Ack>` once every notification is done."""

    def __init__(self, organization_id: str | None) -> None:
        self.organization_id = organization_id

    def parse(self, request: Request, raw: bytes) -> list[Item]:
        """One item per notification, keyed by its Notification Id."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in XML_TYPES:
            raise HTTPProblem(415, "unsupported_media_type", "send the Outbound Message as XML")
        items = []
        for note in parse_notifications(raw):
            if self.organization_id and note["OrganizationId"] != self.organization_id:
                raise HTTPProblem(401, "unauthorized", "authentication failed")
            if not note["Id"]:
                raise HTTPProblem(400, "malformed_xml", "a Notification has no Id")
            fingerprint = json.dumps(note, sort_keys=True).encode()
            items.append(Item(body=note, raw=fingerprint, sender_id=f"sf:{note['Id']}"))
        return items

    def acknowledge(self, answers: Sequence[Answer]) -> Response | None:
        return Response(ACK, media_type="text/xml; charset=utf-8")


def make_adapter(options: Mapping[str, Any]) -> OutboundMessageAdapter:
    """`options = { organization_id = "00D…" }` refuses messages from any other org."""
    unknown = set(options) - {"organization_id"}
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(sorted(unknown))}; only organization_id")
    org = options.get("organization_id")
    if org is not None and (not isinstance(org, str) or len(org) not in (15, 18)):
        raise ValueError("organization_id must be a 15- or 18-character Salesforce id")
    return OutboundMessageAdapter(org)
