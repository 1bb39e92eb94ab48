"""Writes the AsyncAPI 3.0 document of the events: `python -m app.asyncapi_export openapi/asyncapi.json`.

Made from the event catalog (``app.domain.events.CATALOG``, which docs/events.md's table also shows)
and, for each type's ``data``, the schema of the GET answer it carries, taken from the app's OpenAPI
document (so the two documents describe the same JSON). Two channels: the webhook POSTed to each
subscribed endpoint, and the ``hardship.events`` topic exchange of RabbitMQ.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from app.domain.events import CATALOG, CONTENT_TYPE, SOURCE, SPEC_VERSION, EventSpec
from app.openapi_export import render as render_openapi

__all__ = ["document", "render"]

EXCHANGE = "hardship.events"
AMQP_CONTENT_TYPE = "application/cloudevents+json"
_REF = "#/components/schemas/"

_DESCRIPTION = """\
Every change of relief state commits one event in the same database transaction (a transactional
outbox). Events leave the service by signed webhooks (Standard Webhooks) and, with
`HARDSHIP_EVENTS_AMQP_URL`, by the RabbitMQ topic exchange `hardship.events`. Both are at least
once: deduplicate on the event `id`. An event is a CloudEvents 1.0 JSON document whose `data` is the
resource as its GET answers it; `seq` orders one subject's events. See docs/events.md."""

_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "title": "CloudEvent",
    "description": "A CloudEvents 1.0 JSON document with the extension `seq`.",
    "required": [
        "specversion",
        "id",
        "source",
        "type",
        "subject",
        "time",
        "datacontenttype",
        "seq",
        "data",
    ],
    "properties": {
        "specversion": {"type": "string", "const": SPEC_VERSION},
        "id": {
            "type": "string",
            "format": "uuid",
            "description": "Unique; the same on every retry and on both channels (webhook-id, AMQP "
            "message_id). Deduplicate on it.",
        },
        "source": {"type": "string", "const": SOURCE},
        "type": {"type": "string"},
        "subject": {"type": "string", "description": "The account_ref, or the disaster code."},
        "time": {
            "type": "string",
            "format": "date-time",
            "description": "When the change was recorded (UTC).",
        },
        "datacontenttype": {"type": "string", "const": CONTENT_TYPE},
        "seq": {
            "type": "integer",
            "minimum": 1,
            "description": "Strictly increasing over one subject's events in the order their changes "
            "committed; a gap means an event is still on its way.",
        },
        "data": {},
    },
}

_WEBHOOK_HEADERS: dict[str, Any] = {
    "type": "object",
    "required": ["webhook-id", "webhook-timestamp", "webhook-signature"],
    "properties": {
        "webhook-id": {"type": "string", "description": "The event id."},
        "webhook-timestamp": {"type": "string", "pattern": "^[0-9]+$", "description": "Unix seconds."},
        "webhook-signature": {
            "type": "string",
            "description": "`v1,` + base64 of HMAC-SHA256 over `id.timestamp.body` with the endpoint's "
            "secret (Standard Webhooks).",
        },
        "content-type": {"type": "string", "const": "application/json"},
    },
}


def _message(spec: EventSpec) -> dict[str, Any]:
    return {
        "name": spec.type.value,
        "title": spec.type.value,
        "summary": spec.fires_when.replace("`", ""),
        "description": f"subject: the {spec.subject}; data: {spec.data_text}.",
        "contentType": "application/json",
        "payload": {
            "allOf": [
                {"$ref": _REF + "CloudEvent"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": spec.type.value},
                        "subject": {"description": f"The {spec.subject}."},
                        "data": {"$ref": _REF + spec.schema},
                    },
                },
            ]
        },
        "bindings": {
            "http": {"headers": {"$ref": _REF + "WebhookHeaders"}, "bindingVersion": "0.3.0"},
            "amqp": {"contentEncoding": "utf-8", "messageType": spec.type.value, "bindingVersion": "0.3.0"},
        },
    }


def _referenced(schemas: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The named OpenAPI component schemas and every component they refer to, in a stable order."""
    found: dict[str, Any] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found[name] = schemas[name]
        stack: list[Any] = [schemas[name]]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str) and ref.startswith(_REF):
                    todo.append(ref.removeprefix(_REF))
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
    return {name: found[name] for name in sorted(found)}


# Where the events go: the hosts of subscribed webhook URLs, and the RabbitMQ broker.
_SERVERS: dict[str, Any] = {
    "subscriber": {
        "host": "{host}",
        "protocol": "https",
        "title": "A webhook endpoint",
        "description": "The host of a URL an admin subscribed (POST /v1/webhook-endpoints).",
        "variables": {"host": {"default": "receiver.example.com"}},
    },
    "rabbitmq": {
        "host": "{host}",
        "protocol": "amqp",
        "protocolVersion": "0-9-1",
        "title": "RabbitMQ",
        "description": "The broker of HARDSHIP_EVENTS_AMQP_URL.",
        "variables": {"host": {"default": "localhost:5672"}},
    },
}


def document(openapi: dict[str, Any] | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0 document (a dict), from the catalog and the OpenAPI document's schemas."""
    openapi = openapi if openapi is not None else json.loads(render_openapi())
    data_schemas = _referenced(openapi["components"]["schemas"], sorted({s.schema for s in CATALOG}))
    types = [spec.type.value for spec in CATALOG]

    def channel_messages() -> dict[str, Any]:
        return {t: {"$ref": f"#/components/messages/{t}"} for t in types}

    def operation_messages(channel: str) -> list[dict[str, str]]:
        return [{"$ref": f"#/channels/{channel}/messages/{t}"} for t in types]

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"{openapi['info']['title']} events",
            "version": openapi["info"]["version"],
            "description": _DESCRIPTION,
        },
        "defaultContentType": "application/json",
        "servers": _SERVERS,
        "channels": {
            "webhook": {
                "address": None,
                "title": "Webhook",
                "description": "A POST of the event's JSON to each endpoint subscribed to its type, signed "
                "with the Standard Webhooks headers. A 2xx answer is delivered; anything else, or no "
                "answer within HARDSHIP_WEBHOOK_TIMEOUT_SECONDS, is retried on "
                "HARDSHIP_WEBHOOK_RETRY_SCHEDULE, then failed (and can be replayed). Redirects are not "
                "followed.",
                "servers": [{"$ref": "#/servers/subscriber"}],
                "messages": channel_messages(),
            },
            "events": {
                "address": EXCHANGE,
                "title": f"The {EXCHANGE} topic exchange",
                "description": f"Every event, routing key = its type (bind `hardship.deferral.*`, "
                f"`hardship.#`, ...), persistent, content_type `{AMQP_CONTENT_TYPE}`, message_id = the "
                "event id, headers `ce-subject` and `ce-seq`; marked published only after the "
                "broker's publisher confirm.",
                "servers": [{"$ref": "#/servers/rabbitmq"}],
                "messages": channel_messages(),
                "bindings": {
                    "amqp": {
                        "is": "routingKey",
                        "exchange": {"name": EXCHANGE, "type": "topic", "durable": True, "autoDelete": False},
                        "bindingVersion": "0.3.0",
                    }
                },
            },
        },
        "operations": {
            "deliverWebhook": {
                "action": "send",
                "title": "Deliver an event to a webhook endpoint",
                "channel": {"$ref": "#/channels/webhook"},
                "messages": operation_messages("webhook"),
                "bindings": {"http": {"method": "POST", "bindingVersion": "0.3.0"}},
            },
            "publishEvent": {
                "action": "send",
                "title": f"Publish an event to {EXCHANGE}",
                "channel": {"$ref": "#/channels/events"},
                "messages": operation_messages("events"),
                "bindings": {"amqp": {"deliveryMode": 2, "mandatory": False, "bindingVersion": "0.3.0"}},
            },
        },
        "components": {
            "messages": {spec.type.value: _message(spec) for spec in CATALOG},
            "schemas": {"CloudEvent": _ENVELOPE, "WebhookHeaders": _WEBHOOK_HEADERS, **data_schemas},
        },
    }


def render(openapi: dict[str, Any] | None = None) -> str:
    return json.dumps(document(openapi), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "openapi/asyncapi.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
