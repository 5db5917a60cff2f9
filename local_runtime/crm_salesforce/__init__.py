"""A local stand-in for a Salesforce org, enough for the hub's CRM sync: simple-salesforce pointed at
`http://127.0.0.1:<port>/_local/crm/salesforce` (the org's instance URL, its My Domain) authenticates, reads and
writes Leads, Contacts, Accounts, Opportunities and Tasks here as it would in Salesforce; a workflow rule sends the
hub's webhook receiver an outbound message on every save of a Lead, Contact, Account or Opportunity; people and
tests change records as a user would, inject faults and read what was called.

Salesforce's API, under the instance URL (`BASE_PATH`), answering as Salesforce does:

    POST   /services/oauth2/token                    client_credentials (client id and secret in the form or
                                                     as HTTP Basic) or urn:ietf:params:oauth:grant-type:jwt-bearer
                                                     (an RS256 `assertion` whose `iss` is the client id and `sub`
                                                     a user; its signature is NOT verified: the stand-in holds no
                                                     connected app certificate) -> Salesforce's token JSON
    GET    /services/data/                           the API versions (no token needed)
    POST   /services/data/v59.0/sobjects/{type}/     create one: 201 {"id", "success": true, "errors": []}
    GET    /services/data/v59.0/sobjects/{type}/{id}[?fields=A,B]
    PATCH  /services/data/v59.0/sobjects/{type}/{id} update one: 204
    DELETE /services/data/v59.0/sobjects/{type}/{id} 204
    GET    /services/data/v59.0/query/?q=<SOQL>      {"totalSize", "done", "records", "nextRecordsUrl"?}: 2000 a
                                                     page (`Sforce-Query-Options: batchSize=200..2000`), the
                                                     rest from query/{locator}
    POST   /services/data/v59.0/composite/sobjects   create up to 200: {"allOrNone": bool, "records": [...]}
    PATCH  /services/data/v59.0/composite/sobjects   update up to 200 (each record with its "id")
    GET    /services/data/v59.0/composite/sobjects/{type}?ids=A,B&fields=X,Y   a record or null per id, in order

    Every call but the versions needs `Authorization: Bearer <a token issued here>` (else 401
    INVALID_SESSION_ID). A call refused as a whole answers `[{"message", "errorCode"}]` (INVALID_FIELD naming an
    unknown field, JSON_PARSER_ERROR, MALFORMED_QUERY, NOT_FOUND ...); a collection answers per record
    `{"id", "success", "errors": [{"statusCode", "message", "fields"}]}` (REQUIRED_FIELD_MISSING,
    INVALID_EMAIL_ADDRESS, INVALID_CROSS_REFERENCE_KEY for an owner that is not a user id (005...) or a lookup
    to no record, STRING_TOO_LONG, INVALID_FIELD_FOR_INSERT_UPDATE for a system field), all of them refused and
    the valid ones rolled back when `allOrNone`. URLs in answers (attributes.url, nextRecordsUrl) are relative to
    the instance URL, as Salesforce's are.

    SOQL, the subset the hub uses: SELECT field, ... FROM type [WHERE cond [AND cond ...]]
    [ORDER BY field [ASC|DESC]] [LIMIT n], a cond being `field op literal` (op = != < <= > >=) or
    `field [NOT] IN (literal, ...)`; literals 'text' (compared case-insensitively, as Salesforce does),
    numbers, true/false, null, dates (2026-01-01) and date-times (2026-01-01T00:00:00Z, +00:00 or +0000).

The stand-in's own, under `BASE_PATH` too:

    POST   /_faults      {"calls": N, "kind": "request_limit" | "server_error", "retry_after": S}: the next N
                         API calls answer 403 REQUEST_LIMIT_EXCEEDED (with `Retry-After: S` when given;
                         Salesforce sends none) or 503; {"outage": true | false}: every call 503 until cleared
    GET    /_records/{type}   {"records": [...], "count": N}, as the REST API shows them
    GET    /_calls       {"calls": [...], "count": N}: every call to /services/..., token calls flagged `token`
    DELETE /_calls       forgets them
    POST   /_edits       a user changes a record in the CRM: {"sobject": "Lead", "id": "00Q..." (or "email" to
                         find a Lead or Contact; neither: a record the user creates), "fields": {...},
                         "modified_at": ISO time (optional: a late-arriving older change), "modified_by": "005..."}
    GET    /_webhooks    {"deliveries": [...], "pending": N}: the outbound messages and what became of them

Outbound messages: every save of a Lead, Contact, Account or Opportunity (by the API or by an edit) becomes a
`Notification` (an `Id` of its own, the whole record as its `sObject`, null fields as `xsi:nil`) in a SOAP 1.1
`notifications` message to `webhook_url`, as `shared.webhooks.vendors.salesforce` reads it. One background worker
sends them in order, up to 100 notifications of one sObject type per message, and retries a message a few times
while the answer is not a 2xx with a SOAP `<Ack>true</Ack>` (or the connection fails); then the delivery is
recorded as failed. No `webhook_url`: nothing is sent.

In-process: `records`, `record`, `calls`, `reset_calls`, `fail_next`, `set_outage`, `edit`, `deliveries`,
`wait_until_delivered`, `revoke_tokens`, `rotate_client_secret`, `set_webhook_url`, `close`. Thread-safe: werkzeug
serves each request on a thread of its own. Bodies over 1 MB are refused (413); malformed input never answers a
500.

Modules, each depending only on those listed before it: `org` (the instance path, ids, credentials), `schema`
(objects and fields), `record_ids`, `refusals` (Salesforce's error shapes), `field_values`, `soql`,
`request_bodies`, `oauth`, `outbound_messages` (the SOAP notifications and their posting), `record_store` (checks
and saves), `app` (`LocalSalesforce`: the routes, the token endpoint and the in-process API).
"""

from local_runtime.crm_salesforce.app import LocalSalesforce
from local_runtime.crm_salesforce.org import BASE_PATH, CLIENT_ID, CLIENT_SECRET

__all__ = ["BASE_PATH", "CLIENT_ID", "CLIENT_SECRET", "LocalSalesforce"]
