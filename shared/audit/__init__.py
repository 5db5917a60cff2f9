"""The audit trail (issue 15): who did what, when and from where, through the API or an operator command.

Pure: the record (`record`), what it may hold about a person (`privacy`: digests, never a body or an email in
clear), what a request was about (`targets`), who made it (`caller`), how the trail is searched (`query`) and the
store it is appended to (`ports`). The DynamoDB adapter is `shared.adapters.dynamodb_audit`; the request
chokepoint that records every API write is `shared.http.api.resolve`; operator runs are recorded by
`ops.audit_run`.
"""
