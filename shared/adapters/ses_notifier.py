"""`EmailSender` over Amazon SES (API v2, `SendEmail` with simple content: a subject, a text and an HTML part).

SES's errors (`MessageRejected`, `AccountSendingPausedException`, throttling ...) are raised as botocore's
`ClientError`: the caller's retries and dead-letter queue handle them.
"""

from __future__ import annotations

from typing import Any

from shared.handoffs.notifications import EmailMessage

CHARSET = "UTF-8"


class SesEmailSender:
    def __init__(self, client: Any, from_address: str, configuration_set: str | None = None) -> None:
        """`client` is a boto3 `sesv2` client; `from_address` a verified SES identity (an address, or one of a
        verified domain); `configuration_set` the SES configuration set for event publishing, if any."""
        self._client = client
        self._from = from_address
        self._configuration_set = configuration_set

    def send(self, message: EmailMessage) -> str:
        """Sends the message; returns SES's message id."""
        if not message.to:
            raise ValueError("an email needs at least one recipient")
        request: dict[str, Any] = {
            "FromEmailAddress": self._from,
            "Destination": {"ToAddresses": list(message.to)},
            "Content": {
                "Simple": {
                    "Subject": {"Data": message.subject, "Charset": CHARSET},
                    "Body": {
                        "Text": {"Data": message.text, "Charset": CHARSET},
                        "Html": {"Data": message.html, "Charset": CHARSET},
                    },
                }
            },
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        return str(self._client.send_email(**request)["MessageId"])
