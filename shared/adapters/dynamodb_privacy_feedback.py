"""The person's product feedback in the `success` table (part of `dynamodb_privacy_success.SuccessPrivacy`, the
table's store; the items are laid out in `dynamodb_success_items.py`).

Which feedback is the person's:
- theirs: its `contact_email` is one of their emails (the request's, or one merged with it), compared as the lead
  domain normalizes emails (the API keeps the address as sent, `Greta@…` as much as `greta@…`);
- naming them: its free text (`text`, `source`) holds one of their emails or ids, in any account's feedback, or
  their name, in the feedback of one of their accounts only (a first name is short: in another company's feedback
  it is far more likely someone else, or a word, than them).

How it is found: feedback has no per-person key or index (every one is under `pk` = `FEEDBACK`, keyed by feature),
and an email or a name in free text can only be matched once read, case-folded. So the erasure reads that one
partition, never the table (no signal, health, launch or campaign is read), projected to the attributes that
decide (keys, account, contact email, free text) so a 1 MB page holds thousands of items, and bounded: past
`FEEDBACK_READ_LIMIT` items it fails (`FeedbackBeyondReach`) rather than run past the API function's timeout or
erase some and not the rest; the receipt stays `in_progress` and the same request runs it again. The ranking
(`ProductService.ranking`) reads the same partition, all of it, on every request: a hub with that much feedback
needs a subject index for both.

What an erasure does, irreversibly: theirs loses `contact_email` and its `text` becomes the marker `[erased]`
(`shared.privacy.redaction.ERASED_TEXT`), and a `source` naming them does too; feedback naming them has the text
naming them replaced by the marker. The item itself stays, with its account, feature and kind, so the request
still counts in the ranking: its mentions and the ARR-weighted demand of the accounts asking do not change. A
marker, not a blank: whoever reads the feedback list sees a request whose words were erased, not a request sent
empty, and the marker is what every other anonymized text of the hub reads. The `digest` and the `said:` key
(one-way SHA-256 digests of the body as sent) stay: they are what keeps feedback once, so the same feedback
retried after the erasure is still a duplicate of the anonymized one, never kept again in clear; they say nothing
to whoever does not already hold the exact body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

from shared.adapters.dynamodb_privacy_items import exported, get_items, item_key, pages, string_attribute
from shared.adapters.dynamodb_success_items import FEEDBACK
from shared.privacy.model import Needles, Person
from shared.privacy.redaction import ERASED_TEXT, redact
from shared.privacy.subject_keys import normalized_email

FEEDBACK_READ_LIMIT = 100_000  # items of the FEEDBACK partition one erasure or export reads at most
FREE_TEXT = ("text", "source")
_DECIDING = ("pk", "sk", "tenant_id", "contact_email", *FREE_TEXT)


class FeedbackBeyondReach(RuntimeError):
    """The FEEDBACK partition holds more than an erasure reads (`FEEDBACK_READ_LIMIT`)."""


@dataclass(frozen=True)
class Whose:
    """What in a feedback item is the person's: the item is theirs (their contact email), or names them (its
    free text), with what finds them in its text."""

    theirs: bool
    needles: Needles


class FeedbackFinder:
    """Tells the person's feedback items (DynamoDB JSON) from the others'."""

    def __init__(self, person: Person) -> None:
        keys = [f"email#{person.email}", *person.identity_keys]
        emails = [normalized_email(key.partition("#")[2]) for key in keys if key.startswith("email#")]
        self.emails = frozenset(email for email in emails if email)
        needles = person.needles
        names = [name for name in needles.contained if name not in self.emails and name != person.email.casefold()]
        anywhere = tuple(dict.fromkeys([person.email.casefold(), *sorted(self.emails)]))
        self.anywhere = Needles(exact=needles.exact, contained=anywhere)  # an email or an id: them, in any account
        self.in_their_accounts = Needles(exact=needles.exact, contained=anywhere + tuple(names))
        self.accounts = frozenset(person.account_ids)

    def whose(self, item: Mapping[str, Any]) -> Whose | None:
        """None when the item is neither theirs nor names them."""
        needles = self.in_their_accounts if string_attribute(item, "tenant_id") in self.accounts else self.anywhere
        if normalized_email(string_attribute(item, "contact_email")) in self.emails:
            return Whose(True, needles)
        texts = [string_attribute(item, name) or "" for name in FREE_TEXT]
        return Whose(False, needles) if any(needles.found_in(text) for text in texts if text) else None


class FeedbackPrivacy:
    """The person's feedback items: exported whole; erased as the module says."""

    def __init__(self, client: Any, table: str, read_limit: int = FEEDBACK_READ_LIMIT) -> None:
        self._client = client
        self._table = table
        self._read_limit = read_limit

    def found(self, person: Person) -> list[tuple[dict[str, Any], Whose]]:
        """The person's feedback items as read (the deciding attributes only), each with what is theirs in it."""
        finder = FeedbackFinder(person)
        return [(item, whose) for item in self._partition() if (whose := finder.whose(item)) is not None]

    def export(self, person: Person) -> list[dict[str, Any]]:
        keys = [item_key(item) for item, _ in self.found(person)]
        whole = get_items(self._client, self._table, keys) if keys else []
        return sorted((exported(item) for item in whole), key=lambda item: str(item["sk"]))

    def erase(self, person: Person) -> int:
        erased = 0
        for item, whose in self.found(person):
            changes: dict[str, str] = {}
            for name in FREE_TEXT:
                value = string_attribute(item, name)
                if value is None:
                    continue
                anonymous = ERASED_TEXT if whose.theirs and name == "text" else redact(value, whose.needles)[0]
                if anonymous != value:
                    changes[name] = anonymous
            if not changes and not whose.theirs:
                continue
            names = {f"#{name}": name for name in changes}
            update = ("SET " + ", ".join(f"#{name} = :{name}" for name in changes)) if changes else ""
            if whose.theirs:
                update += " REMOVE #contact_email"
                names["#contact_email"] = "contact_email"
            request: dict[str, Any] = {
                "TableName": self._table,
                "Key": item_key(item),
                "UpdateExpression": update.strip(),
                "ExpressionAttributeNames": names,
                "ConditionExpression": "attribute_exists(pk)",
            }
            if changes:
                request["ExpressionAttributeValues"] = {f":{name}": {"S": value} for name, value in changes.items()}
            try:
                self._client.update_item(**request)
            except self._client.exceptions.ConditionalCheckFailedException:
                continue  # deleted since it was read: nothing of it left to erase
            erased += 1
        return erased

    def _partition(self) -> list[dict[str, Any]]:
        """Every feedback item, projected to what decides whose it is; FeedbackBeyondReach past the limit."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": FEEDBACK}},
            "ProjectionExpression": ", ".join(f"#{name}" for name in _DECIDING),
            "ExpressionAttributeNames": {f"#{name}": name for name in _DECIDING},
            "ConsistentRead": True,
        }
        items = list(islice(pages(self._client.query, request), self._read_limit + 1))
        if len(items) > self._read_limit:
            raise FeedbackBeyondReach(
                f"the feedback partition holds more than {self._read_limit} items, more than an erasure reads: "
                "find feedback by a subject index instead (see shared/adapters/dynamodb_privacy_feedback.py)"
            )
        return items
