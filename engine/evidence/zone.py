"""DNS master (zone) files, read record by record with dnspython.

Records are parsed one line at a time (``dns.rdata.from_text``) instead of with
``dns.zone.from_text``, so that an excerpt, a zone pasted among log lines or a truncated file
still yields every record it holds, each with its line number. Multi-line records in
parentheses (the SOA) are claimed but not interpreted: no check needs them.

Checks, each answering a KB question:

* apex A/AAAA equal to the address of a nameserver host (the seed incident: ``@`` pointed at the
  NS machine) -> ``bare_domain_a_points_wrong``;
* MX missing at the apex of a full zone, MX target that is a CNAME, an IP literal, or an in-zone
  name without an address -> ``mx_record_missing_or_wrong``;
* an MX target that ends in its owner's name twice (``mail.example.org.example.org.``, as ``dig``
  shows a zone-file target written without its trailing dot) or that is an IP literal ->
  ``mx_record_missing_or_wrong``, for any owner, so a single answer line from ``dig`` is read too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from engine.evidence.model import ExtractedAnswer, Line

FAMILY = "zone_file"
SIGNATURE_EXTRACTORS = ("zone_file",)

APEX_ON_NS_STRENGTH = 0.9
"""The apex shares the nameserver's address while www or the MX host is elsewhere: almost always a
mistake, but a site may deliberately serve its bare domain from the DNS machine."""
APEX_ON_NS_ONE_BOX_STRENGTH = 0.6
"""Everything (apex, www, mail) on the nameserver's address: a one-machine site is common."""
APEX_ON_WEB_STRENGTH = 0.8
"""Apex and www share an address that is not the nameserver's: the usual correct set-up."""
MX_CNAME_STRENGTH = 0.97
"""RFC 2181 section 10.3 forbids an MX target that is an alias; many MTAs refuse or mis-route."""
MX_IP_LITERAL_STRENGTH = 0.97
"""An MX target must be a host name; ``MX 10 192.0.2.1.`` is read as a name that does not exist."""
MX_NO_ADDRESS_STRENGTH = 0.9
"""An in-zone MX target without A/AAAA: wrong unless the address lives in another ($INCLUDEd) file."""
MX_MISSING_STRENGTH = 0.8
"""A full zone (SOA present) without an apex MX: mail falls back to the apex A record, if any."""
MX_ORIGIN_APPENDED_STRENGTH = 0.9
"""RFC 1035 section 5.1: a master-file name without a final dot is relative to the origin, so a target
meant as ``mail.example.org.`` becomes ``mail.example.org.example.org.``, a host that does not exist;
a zone that really names a host so is very rare."""
MX_OK_STRENGTH = 0.7
"""Every in-zone MX target has an address: the record is well-formed, though it may name the
wrong (old) server, which no zone file can show."""

PLACEHOLDER_ORIGIN = dns.name.from_text("origin.invalid.")
"""Used when the text has neither $ORIGIN nor an absolute SOA owner (BIND takes the origin from
named.conf); all checks compare names within the zone, so any origin gives the same answers."""

_TYPES = "A|AAAA|MX|NS|CNAME|SOA|TXT|PTR|SRV|CAA|DNAME|SPF|HINFO|DS|DNSKEY|TLSA|NAPTR|SSHFP|HTTPS|SVCB"
_RR = re.compile(
    r"^(?P<owner>[^\s;()]{1,255})?\s+(?:(?:\d{1,10}[smhdwSMHDW]?|IN|in|CH|HS)\s+){0,2}"
    rf"(?P<type>{_TYPES})\s+(?P<rdata>[^;]*)(?:;.*)?$"
)
_DIRECTIVE = re.compile(r"^\$(?P<name>ORIGIN|TTL|INCLUDE|GENERATE)\s+(?P<value>\S{1,255})")
_IP_LITERAL = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}\.?$|^[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}\.?$")
_ADDRESS_TYPES = (dns.rdatatype.A, dns.rdatatype.AAAA)


@dataclass(frozen=True)
class Record:
    owner: dns.name.Name
    rdtype: dns.rdatatype.RdataType
    rdata: dns.rdata.Rdata
    line: Line


@dataclass
class ZoneReader:
    """Line-by-line parser state: the origin, the last owner and an open parenthesis."""

    origin: dns.name.Name | None = None
    last_owner: dns.name.Name | None = None
    in_parentheses: bool = False
    records: list[Record] = field(default_factory=list)
    soa: Line | None = None

    def claims(self, line: Line) -> bool:
        """Whether the line is part of a zone file; records it if it is a parsable record."""
        text = line.text
        if self.in_parentheses:
            self.in_parentheses = ")" not in _strip_comment(text)
            return True
        directive = _DIRECTIVE.match(text)
        if directive:
            if directive["name"] == "ORIGIN":
                self.origin = _name(directive["value"], None)
            return True
        match = _RR.match(text)
        return match is not None and self._record(match, line)

    def _record(self, match: re.Match[str], line: Line) -> bool:
        owner_text, type_text, rdata_text = match["owner"], match["type"], match["rdata"].strip()
        rdtype = dns.rdatatype.from_text(type_text)
        if rdtype == dns.rdatatype.SOA:
            if not _soa_like(rdata_text):
                return False
            owner = _name(owner_text, self.origin) if owner_text else self.last_owner
            if self.origin is None and owner is not None and owner.is_absolute():
                self.origin = owner
            self.in_parentheses = "(" in rdata_text and ")" not in rdata_text
            self.soa = self.soa or line
            self.last_owner = owner or self.last_owner
            return True
        origin = self.origin or PLACEHOLDER_ORIGIN
        owner = _name(owner_text, origin) if owner_text else self.last_owner
        if owner is None:
            return False
        try:
            rdata = dns.rdata.from_text(dns.rdataclass.IN, rdtype, rdata_text, origin=origin, relativize=False)
        except (dns.exception.DNSException, ValueError, TypeError, UnicodeError):
            return False
        self.last_owner = owner
        self.records.append(Record(owner, rdtype, rdata, line))
        return True


def _soa_like(rdata_text: str) -> bool:
    """An SOA's rdata: complete and parsable, or its first two names before a ``(`` continuation."""
    head, paren, _ = rdata_text.partition("(")
    names = head.split()
    if paren:
        return 2 <= len(names) <= 7 and _name(names[0], None) is not None and _name(names[1], None) is not None
    try:
        dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.SOA, rdata_text, origin=PLACEHOLDER_ORIGIN)
    except (dns.exception.DNSException, ValueError, TypeError, UnicodeError):
        return False
    return True


def _strip_comment(text: str) -> str:
    return text.split(";", 1)[0]


def _name(text: str, origin: dns.name.Name | None) -> dns.name.Name | None:
    try:
        if text == "@":
            return origin or PLACEHOLDER_ORIGIN
        return dns.name.from_text(text, origin=origin or PLACEHOLDER_ORIGIN)
    except (dns.exception.DNSException, ValueError, UnicodeError):
        return None


def findings(reader: ZoneReader) -> list[ExtractedAnswer]:
    """The apex and MX checks over every record the reader collected."""
    by_name: dict[dns.name.Name, dict[int, list[Record]]] = {}
    for record in reader.records:
        by_name.setdefault(record.owner, {}).setdefault(record.rdtype, []).append(record)
    if not by_name:
        return []
    apex = reader.origin or PLACEHOLDER_ORIGIN
    return (_apex_findings(by_name, apex) + _mx_findings(by_name, apex, reader.soa)
            + _any_owner_mx_findings(reader.records, apex))


def _any_owner_mx_findings(records: list[Record], apex: dns.name.Name) -> list[ExtractedAnswer]:
    """Checks that need no zone around the record, so that a single ``dig`` answer line is read: a
    target that repeats the owner's name at its end (see MX_ORIGIN_APPENDED_STRENGTH) for any owner, and
    a target that is an IP literal for owners other than the apex (the apex's are in ``_mx_findings``)."""
    found = []
    for record in records:
        if record.rdtype != dns.rdatatype.MX:
            continue
        target: dns.name.Name = record.rdata.exchange  # type: ignore[attr-defined]
        if record.owner != apex and _IP_LITERAL.match(target.to_text()):
            found.append(_answer("mx_record_missing_or_wrong", "yes", MX_IP_LITERAL_STRENGTH, record.line))
        elif len(record.owner.labels) >= 3:  # an owner of one label (``org.``) would match ordinary names
            doubled = dns.name.Name(record.owner.labels[:-1] + record.owner.labels)
            if target.is_subdomain(doubled):
                found.append(_answer("mx_record_missing_or_wrong", "yes", MX_ORIGIN_APPENDED_STRENGTH, record.line))
    return found


def _addresses(by_name: dict[dns.name.Name, dict[int, list[Record]]], name: dns.name.Name) -> set[str]:
    types = by_name.get(name, {})
    return {r.rdata.to_text() for t in _ADDRESS_TYPES for r in types.get(t, [])}


def _answer(question: str, answer: str, strength: float, line: Line) -> ExtractedAnswer:
    return ExtractedAnswer(question, answer, strength, line.text, FAMILY, None, line.number)


def _apex_findings(by_name: dict[dns.name.Name, dict[int, list[Record]]], apex: dns.name.Name) -> list[ExtractedAnswer]:
    apex_records = [r for t in _ADDRESS_TYPES for r in by_name.get(apex, {}).get(t, [])]
    if not apex_records:
        return []
    ns_addresses: set[str] = set()
    for ns in by_name[apex].get(dns.rdatatype.NS, []):
        ns_addresses |= _addresses(by_name, ns.rdata.target)  # type: ignore[attr-defined]
    others: set[str] = _addresses(by_name, dns.name.Name(("www", *apex.labels)))
    for mx in by_name[apex].get(dns.rdatatype.MX, []):
        others |= _addresses(by_name, mx.rdata.exchange)  # type: ignore[attr-defined]
    on_ns = [r for r in apex_records if r.rdata.to_text() in ns_addresses]
    if on_ns:
        strength = APEX_ON_NS_STRENGTH if others - ns_addresses else APEX_ON_NS_ONE_BOX_STRENGTH
        return [_answer("bare_domain_a_points_wrong", "yes", strength, on_ns[0].line)]
    www = _addresses(by_name, dns.name.Name(("www", *apex.labels)))
    on_web = [r for r in apex_records if r.rdata.to_text() in www]
    if on_web and ns_addresses:
        return [_answer("bare_domain_a_points_wrong", "no", APEX_ON_WEB_STRENGTH, on_web[0].line)]
    return []


def _mx_findings(by_name: dict[dns.name.Name, dict[int, list[Record]]], apex: dns.name.Name,
                 soa: Line | None) -> list[ExtractedAnswer]:
    mx_records = by_name.get(apex, {}).get(dns.rdatatype.MX, [])
    if not mx_records:
        return [_answer("mx_record_missing_or_wrong", "yes", MX_MISSING_STRENGTH, soa)] if soa else []
    found: list[ExtractedAnswer] = []
    checked_ok = []
    for record in mx_records:
        target: dns.name.Name = record.rdata.exchange  # type: ignore[attr-defined]
        if target == dns.name.root:
            continue  # RFC 7505 null MX: the domain says it takes no mail, deliberately
        relative = target.relativize(apex).to_text() if target.is_subdomain(apex) else target.to_text()
        if _IP_LITERAL.match(relative):
            found.append(_answer("mx_record_missing_or_wrong", "yes", MX_IP_LITERAL_STRENGTH, record.line))
        elif dns.rdatatype.CNAME in by_name.get(target, {}):
            found.append(_answer("mx_record_missing_or_wrong", "yes", MX_CNAME_STRENGTH, record.line))
        elif target.is_subdomain(apex):
            if _addresses(by_name, target):
                checked_ok.append(record)
            else:
                found.append(_answer("mx_record_missing_or_wrong", "yes", MX_NO_ADDRESS_STRENGTH, record.line))
    if not found and checked_ok:
        found.append(_answer("mx_record_missing_or_wrong", "no", MX_OK_STRENGTH, checked_ok[0].line))
    return found
