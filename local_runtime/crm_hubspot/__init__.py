"""A local stand-in for HubSpot's CRM API (v3 objects, v4 default associations) and its webhooks, enough for the
hub's CRM sync: `hubspot.HubSpot(access_token=..., host="http://127.0.0.1:<port>/_local/crm/hubspot")` calls here
as it would call api.hubapi.com, and every change to a record, by the API or by a "user" (`_edits`), fires
HubSpot's webhook events at the hub, signed as HubSpot signs them (v3).

HubSpot's API, under /_local/crm/hubspot (`<type>`: contacts, companies, deals, tasks, or 0-1, 0-2, 0-3, 0-27):

    POST   /crm/v3/objects/<type>                        create one: 201, 409 for a contact email already taken
    GET    /crm/v3/objects/<type>[?limit=&after=&properties=a,b]                           a page, by id
    GET    /crm/v3/objects/<type>/<id>[?properties=a,b&idProperty=email]                  one, 404 if none
    PATCH  /crm/v3/objects/<type>/<id>[?idProperty=email]                                 update one
    POST   /crm/v3/objects/<type>/batch/create           {"inputs": [{"properties", "objectWriteTraceId"?}]}
    POST   /crm/v3/objects/<type>/batch/update           {"inputs": [{"id", "properties", "idProperty"?, ...}]}
    POST   /crm/v3/objects/<type>/batch/upsert           {"inputs": [{"id", "idProperty": "email", "properties"}]}
    POST   /crm/v3/objects/<type>/batch/read             {"properties", "idProperty"?, "inputs": [{"id"}]}
    POST   /crm/v3/objects/<type>/search                 {"filterGroups", "sorts", "properties", "limit", "after"}
    PUT    /crm/v4/objects/<from>/<id>/associations/default/<to>/<id>          default (unlabeled) association
    POST   /crm/v4/associations/<from>/<to>/batch/associate/default            {"inputs": [{"from", "to"}]}
    POST   /crm/v4/associations/<from>/<to>/batch/create     {"inputs": [{"from", "to", "types"}]}: labeled (a
                                                     default type, or a contact's primary company: 1, back 2)
    POST   /crm/v4/associations/<from>/<to>/batch/archive    {"inputs": [{"from", "to": [{"id"}]}]}: removed, 204
    GET    /crm/v4/objects/<from>/<id>/associations/<to>                       a record's associations
    POST   /crm/v3/objects/contacts/gdpr-delete          {"objectId", "idProperty"?: "email"}: the contact and
                                                     its associations deleted for good, 204; an id that names
                                                     no contact 404; an email that names none 204 (HubSpot
                                                     blocklists it)

The stand-in's own endpoints, under /_local/crm/hubspot (no token, not counted as API calls):

    GET    /_records/<type>          {"records": [...]}: every record, every property
    GET    /_calls                   {"calls": [{"method", "path", "status", "at"}...], "count": N}: every API
                                     call (faults and refusals too), its path as HubSpot's (without this prefix)
    DELETE /_calls                   forgets them (the count starts again from 0)
    GET    /_webhooks                {"url", "pending", "deliveries": [...], "events": [...]}
    POST   /_faults                  {"calls": N, "kind": "ratelimited" | "server_error", "retry_after": S,
                                     "after": M?}: the next N API calls (once M more passed) answer 429 (with
                                     Retry-After) or 502; {"outage": true}: every API call answers 503 until
                                     {"outage": false}
    POST   /_edits                   {"object": "contacts", "id": "123" | "email": "a@b.c", "properties": {...},
                                     "occurred_at": "<ISO 8601>"?, "user_id": 123?}: a user changes the record in
                                     HubSpot's UI at that moment (a late, older change when in the past); answers
                                     the record and fires the webhooks (changeSource CRM_UI)

As HubSpot answers: every value is text; `createdate`, `hs_object_id` and the last-modified date
(`lastmodifieddate` for contacts, `hs_lastmodifieddate` for companies and deals) are kept by the CRM; a
property outside the portal's known set is refused (VALIDATION_ERROR "Property values were not valid",
PROPERTY_DOESNT_EXIST, named), as are an email that is not one, a number that is not one and an option that is
not one; a contact's email is unique in the portal (lower-cased). Errors are HubSpot's body (`status`,
`message`, `correlationId`, `category`, ...). A batch takes 100 inputs at most and no id twice. A batch
answers 200 (batch create: 201) when every input succeeded, and 207 with per-input `errors` when some failed:
ids that name no record (OBJECT_NOT_FOUND, `context.ids`) always; an input refused for its values only when
the inputs carry `objectWriteTraceId` (HubSpot's multi-status opt-in; `context.objectWriteTraceId`), else the
whole batch is refused (400, or 409 for an email taken) and nothing of it applied (always, with
`multi_status=False`). A search takes filters EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY,
NOT_HAS_PROPERTY, CONTAINS_TOKEN (dates as epoch milliseconds or ISO 8601; text without case), one sort, 200
results a page at most and pages no further than 10,000. A contact's first company (a default association),
or the one associated as its primary (type 1), becomes its `associatedcompanyid`; removing that association gives
it its other company with the lowest id, or none. A task (the hub's expansion signals) needs `hs_timestamp`
to be created (VALIDATION_ERROR naming it), keeps its creation date in `hs_createdate`, takes HubSpot's task
status, priority and type options, is associated inline on create (`associations`, HUBSPOT_DEFINED: task to
company 192, contact 204, deal 216) or by v4 default, and fires no webhooks (HubSpot has no task
subscriptions). Records of one call share its modified date; calls never share one.

Webhooks: `contact.creation` then one `contact.propertyChange` per property the change set (`company.*`,
`deal.*` alike), with HubSpot's fields, delivered in order by one background thread to `webhook_url`, up to 100
events a request, signed with `X-HubSpot-Signature-v3` over method + URI + body + `X-HubSpot-Request-Timestamp`
with the app's client secret. A delivery answered other than 2xx, or not at all, is sent again after each of
`retry_delays` (with `attemptNumber` up), then recorded as failed. No `webhook_url`: events are kept, not sent.
Thread-safe (werkzeug serves each request on a thread of its own); `close()` stops the delivery thread.

Modules, each depending only on those listed before it: `portal` (the portal's ids, limits, objects, property
schema and webhook subscriptions), `values` (dates and numbers as HubSpot writes them), `records` (a record and
its shape in an answer), `responses` (HubSpot's error and batch bodies), `request_parsing` (bodies, batch
inputs, query strings), `search` (filters, sorts, matching), `webhooks` (events, their delivery and signature),
`store` (the records and associations, their checks and changes), `app` (`LocalHubSpot`: the routes).
"""

from local_runtime.crm_hubspot.app import LocalHubSpot
from local_runtime.crm_hubspot.portal import BASE_PATH, subscriptions_of

__all__ = ["BASE_PATH", "LocalHubSpot", "subscriptions_of"]
