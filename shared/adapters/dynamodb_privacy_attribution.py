"""The person's part of the `attribution` table (a `shared.privacy.ports.PersonalStore`, access patterns in
`shared/catalog/attribution.py`). The deals and conversions naming the person's contacts (the hub's contact ids,
or the senders' ids the person has as identities: `hubspot:501`, `stripe:cus_...`) or email have no index
on a person and are read with a filtered scan. The funnel's markers (one per counted stage entry,
`FUNNEL_EVENT#<event id>`) name the lead that entered the stage and are found by the same kind of scan, on the
person's lead ids. The table is small next to the delivery log (one item per deal and per conversion, and the
funnel's markers), and an erasure is a rare operator action; an index per lead would cost every attribution write
for that. The person's billing customers are found by key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.adapters.dynamodb_attribution_keys import FUNNEL_EVENT
from shared.adapters.dynamodb_customer_revenue import PREFIX as REVENUE_SK
from shared.adapters.dynamodb_customer_revenue import revenue_pk
from shared.adapters.dynamodb_items import iso
from shared.adapters.dynamodb_privacy_items import exported, get_items, item_key, scan_matching
from shared.privacy.model import Person
from shared.webhooks.vendor import qualified


class AttributionPrivacy:
    """Table `attribution`: the deals and conversions naming the person's contacts or email (a filtered scan, see
    the module's docstring). Touches keep their channel, campaign, time, roles and credits, so campaign,
    channel and conversion totals do not move; what links them to the person (contact ids, hub or vendor, emails) is
    removed and the item marked `erased_at`. The funnel's markers of the person's stage entries keep their stage,
    time and campaign, so the funnel's counts do not move (and a replay of the entry's event is still counted
    before: the marker keeps its event id); their `lead_id` is blanked (`""`) and the marker marked `erased_at`, so
    the lead ids an erasure's receipt and the audit trail name no longer rebuild the person's timeline. Totals,
    pipeline and the funnel's counts hold no person. The billing customers the person is (their vendor identities)
    lose their subscriptions (LTV), got and deleted by key."""

    name = "attribution"

    def __init__(self, client: Any, table: str, clock: Any) -> None:
        self._client = client
        self._table = table
        self._clock = clock

    def _linked(self, person: Person) -> list[dict[str, Any]]:
        """The deals and conversions naming the person: by email, or by a contact id, the hub's (`c-...`) or a
        sender's (`hubspot:501`, `stripe:cus_...`). A filter expression holds at most 4 KB: the ids are looked
        for in scans of `_IDS_PER_SCAN` at most (one for nearly everyone)."""
        ids = _contact_ids(person)
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for start in range(0, max(len(ids), 1), _IDS_PER_SCAN):
            values: dict[str, Any] = {":deal": {"S": "DEAL#"}, ":conversion": {"S": "CONVERSION#"}}
            values[":email"] = {"S": person.email}
            linked = ["contains(emails, :email)"]
            for n, contact_id in enumerate(ids[start : start + _IDS_PER_SCAN]):
                values[f":c{n}"] = {"S": contact_id}
                linked.append(f"contains(contact_ids, :c{n})")
            expression = f"(begins_with(pk, :deal) OR begins_with(pk, :conversion)) AND ({' OR '.join(linked)})"
            for item in scan_matching(self._client, self._table, expression, values):
                found[(str(item["pk"].get("S")), str(item.get("sk", {}).get("S")))] = item
        return list(found.values())

    def _funnel_entries(self, person: Person) -> list[dict[str, Any]]:
        """The funnel's markers of the person's stage entries: those whose `lead_id` is one of the person's lead ids
        (a filtered scan, `_IDS_PER_SCAN` ids at most a scan). A blanked one (erased) names no one."""
        ids = list(person.contact_ids)
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), _IDS_PER_SCAN):
            values: dict[str, Any] = {":funnel": {"S": f"{FUNNEL_EVENT}#"}, ":marker": {"S": FUNNEL_EVENT}}
            chunk = ids[start : start + _IDS_PER_SCAN]
            values.update({f":l{n}": {"S": lead_id} for n, lead_id in enumerate(chunk)})
            wanted = ", ".join(f":l{n}" for n in range(len(chunk)))
            expression = f"begins_with(pk, :funnel) AND sk = :marker AND lead_id IN ({wanted})"
            for item in scan_matching(self._client, self._table, expression, values):
                found[str(item["pk"].get("S"))] = item
        return list(found.values())

    def _revenues(self, person: Person) -> list[dict[str, Any]]:
        """The billing customers the person is (their vendor identities: `stripe#cus_...`), got by key."""
        keys = [
            {"pk": {"S": revenue_pk(k)}, "sk": {"S": REVENUE_SK}}
            for k in person.identity_keys
            if not k.startswith("email#")
        ]
        return get_items(self._client, self._table, keys)

    def export(self, person: Person) -> dict[str, list[dict[str, Any]]]:
        items = [exported(item) for item in self._linked(person)]
        return {
            "deals": [i for i in items if str(i.get("pk", "")).startswith("DEAL#")],
            "conversions": [i for i in items if str(i.get("pk", "")).startswith("CONVERSION#")],
            "customer_revenue": [exported(item) for item in self._revenues(person)],
            "funnel_entries": [exported(item) for item in self._funnel_entries(person)],
        }

    def erase(self, person: Person) -> int:
        now = iso(self._clock())
        erased = 0
        # their subscriptions go: keyed by identities the hub no longer holds once erased, no conversion finds them
        for item in self._revenues(person):
            self._client.delete_item(TableName=self._table, Key=item_key(item))
            erased += 1
        theirs = {"contact_ids": set(_contact_ids(person)), "emails": {person.email.lower()}}
        for item in self._linked(person):
            sets = ["erased_at = :now"]
            values: dict[str, Any] = {":now": {"S": now}}
            for name, erased_values in theirs.items():
                if name in item:
                    # An account's deal names its other contacts too: only this person's links go.
                    kept = [v for v in item[name].get("L", []) if _linked_value(name, v) not in erased_values]
                    sets.append(f"{name} = :{name}")
                    values[f":{name}"] = {"L": kept}
            self._client.update_item(
                TableName=self._table,
                Key=item_key(item),
                UpdateExpression="SET " + ", ".join(sets),
                ExpressionAttributeValues=values,
            )
            erased += 1
        for item in self._funnel_entries(person):
            # stage, time and campaign stay (the counts hold the entry); only who entered the stage goes
            self._client.update_item(
                TableName=self._table,
                Key=item_key(item),
                UpdateExpression="SET lead_id = :blank, erased_at = :now",
                ExpressionAttributeValues={":blank": {"S": ""}, ":now": {"S": now}},
            )
            erased += 1
        return erased


_IDS_PER_SCAN = 90


def _contact_ids(person: Person) -> list[str]:
    """What a deal's or conversion's `contact_ids` may call the person: the hub's contact ids, and the senders'
    ids as `people_of` keeps them (`Subject.contact_id`, `<vendor>:<value>`), which are the person's identities
    (`<vendor>#<value>`, `Person.identity_keys`) spelled as the webhooks qualify them."""
    vendor_ids = [
        qualified(kind, value)
        for kind, _, value in (key.partition("#") for key in person.identity_keys)
        if kind not in ("email", "phone")
    ]
    return list(dict.fromkeys([*person.contact_ids, *(i for i in vendor_ids if i)]))


def _linked_value(name: str, value: Mapping[str, Any]) -> str:
    """A deal's or conversion's link as compared with the person's: emails case-insensitively, ids exactly."""
    text = str(value.get("S", ""))
    return text.lower() if name == "emails" else text
