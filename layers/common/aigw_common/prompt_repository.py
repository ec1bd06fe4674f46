"""The Prompts table: the only code that reads or writes it.

Partition ``tenant_id``, sort ``prompt``. Each prompt has a head item (``p#<name>``: the
latest version number and timestamps) and one item per version (``v#<name>#<000042>``)
that is never changed once written. A new version is written in one transaction with the
head's update, conditional on the version the writer read, so two concurrent writers can
never produce the same number. Reads go through the head: a version above the head's latest
does not exist, whatever items an interrupted delete may have left behind.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from aigw_common.errors import Conflict, InvalidInput, NotFound
from aigw_common.job_status import utc_now
from aigw_common.prompts import MAX_VERSIONS, PromptDefinition, PromptVersion

_HEAD = "p#"
_VERSION = "v#"
#: Concurrent writers of the same prompt retry this often before answering 409.
_WRITE_ATTEMPTS = 5


def _head_key(tenant_id: str, name: str) -> dict[str, Any]:
    return {"tenant_id": {"S": tenant_id}, "prompt": {"S": f"{_HEAD}{name}"}}


def _version_key(tenant_id: str, name: str, version: int) -> dict[str, Any]:
    return {"tenant_id": {"S": tenant_id}, "prompt": {"S": f"{_VERSION}{name}#{version:06d}"}}


class PromptRepository:
    def __init__(self, table_name: str, client: Any) -> None:
        self.table_name = table_name
        self.client = client

    # ------------------------------------------------------------------ writes
    def create(
        self, tenant_id: str, name: str, definition: PromptDefinition
    ) -> tuple[PromptVersion, bool]:
        """Version 1 of a new prompt, and True. A name in use is a Conflict, unless its
        latest version is this very definition (a retried create): then that, and False."""
        now = utc_now()
        head = {
            **_head_key(tenant_id, name),
            "name": {"S": name},
            "latest": {"N": "1"},
            "created_at": {"S": now},
            "updated_at": {"S": now},
        }
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": head,
                            "ConditionExpression": "attribute_not_exists(prompt)",
                        }
                    },
                    # Unconditional: only a deleted prompt's leftovers can be here.
                    {"Put": self._version_put(tenant_id, name, 1, definition, now)},
                ]
            )
        except ClientError as error:
            if not _condition_failed(error):
                raise
            existing = self._unchanged(tenant_id, name, definition)
            if existing is None:
                raise Conflict(
                    f"prompt {name!r} exists; PUT /v1/prompts/{name} adds a version"
                ) from None
            return existing, False
        return PromptVersion(name, 1, definition, now), True

    def add_version(
        self, tenant_id: str, name: str, definition: PromptDefinition
    ) -> tuple[PromptVersion, bool]:
        """The next version of an existing prompt, and True; when the latest version is
        this very definition (a retried request, say), that version and False."""
        for _ in range(_WRITE_ATTEMPTS):
            current, latest = self.get(tenant_id, name)
            if current.definition == definition:
                return current, False
            version = latest + 1
            if version > MAX_VERSIONS:
                raise Conflict(
                    f"prompt {name!r} has {MAX_VERSIONS} versions, the most one prompt may "
                    "have; create a prompt with another name"
                )
            now = utc_now()
            try:
                self.client.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": self.table_name,
                                "Key": _head_key(tenant_id, name),
                                "UpdateExpression": "SET latest = :version, updated_at = :now",
                                "ConditionExpression": "latest = :read",
                                "ExpressionAttributeValues": {
                                    ":version": {"N": str(version)},
                                    ":read": {"N": str(latest)},
                                    ":now": {"S": now},
                                },
                            }
                        },
                        {"Put": self._version_put(tenant_id, name, version, definition, now)},
                    ]
                )
            except ClientError as error:
                if _condition_failed(error):
                    continue  # another writer got this number (or deleted the prompt)
                raise
            return PromptVersion(name, version, definition, now), True
        raise Conflict(f"prompt {name!r} is being changed by others; retry")

    def _unchanged(
        self, tenant_id: str, name: str, definition: PromptDefinition
    ) -> PromptVersion | None:
        try:
            current, _ = self.get(tenant_id, name)
        except NotFound:
            return None
        return current if current.definition == definition else None

    def _version_put(
        self, tenant_id: str, name: str, version: int, definition: PromptDefinition, now: str
    ) -> dict[str, Any]:
        document = {
            "template": definition.template,
            "system": definition.system,
            "variables": definition.variables,
            "model": definition.model,
            "parameters": definition.parameters,
        }
        return {
            "TableName": self.table_name,
            "Item": {
                **_version_key(tenant_id, name, version),
                "version": {"N": str(version)},
                "definition": {"S": json.dumps(document, separators=(",", ":"))},
                "created_at": {"S": now},
            },
        }

    def delete(self, tenant_id: str, name: str) -> int:
        """Delete the prompt and all its versions; how many versions it had."""
        try:
            answer = self.client.delete_item(
                TableName=self.table_name,
                Key=_head_key(tenant_id, name),
                ConditionExpression="attribute_exists(prompt)",
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise NotFound(f"prompt {name!r} not found") from None
            raise
        keys = list(self._version_keys(tenant_id, name))
        for start in range(0, len(keys), 25):
            self._delete_batch(keys[start : start + 25])
        return int(answer["Attributes"]["latest"]["N"])

    def _version_keys(self, tenant_id: str, name: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression="tenant_id = :tenant AND begins_with(prompt, :prefix)",
            ExpressionAttributeValues={
                ":tenant": {"S": tenant_id},
                ":prefix": {"S": f"{_VERSION}{name}#"},
            },
            ProjectionExpression="tenant_id, prompt",
        ):
            yield from page["Items"]

    def _delete_batch(self, keys: list[dict[str, Any]]) -> None:
        requests = {self.table_name: [{"DeleteRequest": {"Key": key}} for key in keys]}
        while requests:
            answer = self.client.batch_write_item(RequestItems=requests)
            requests = answer.get("UnprocessedItems") or {}

    # ------------------------------------------------------------------ reads
    def _head(self, tenant_id: str, name: str) -> dict[str, Any]:
        item = self.client.get_item(
            TableName=self.table_name, Key=_head_key(tenant_id, name), ConsistentRead=True
        ).get("Item")
        if item is None:
            raise NotFound(f"prompt {name!r} not found")
        return item

    def _latest(self, tenant_id: str, name: str) -> int:
        return int(self._head(tenant_id, name)["latest"]["N"])

    def get(
        self, tenant_id: str, name: str, version: int | None = None
    ) -> tuple[PromptVersion, int]:
        """A version (the latest when ``version`` is None) and the prompt's latest number."""
        latest = self._latest(tenant_id, name)
        wanted = latest if version is None else version
        if not 1 <= wanted <= latest:
            raise NotFound(f"prompt {name!r} has no version {wanted} (the latest is {latest})")
        item = self.client.get_item(
            TableName=self.table_name,
            Key=_version_key(tenant_id, name, wanted),
            ConsistentRead=True,
        ).get("Item")
        if item is None:  # deleted between the two reads
            raise NotFound(f"prompt {name!r} not found")
        document = json.loads(item["definition"]["S"])
        definition = PromptDefinition(
            template=document["template"],
            variables=document["variables"],
            system=document.get("system"),
            model=document.get("model"),
            parameters=document.get("parameters") or {},
        )
        return PromptVersion(name, wanted, definition, item["created_at"]["S"]), latest

    def list(
        self, tenant_id: str, *, limit: int = 50, next_token: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the tenant's prompts, by name: ``{name, latest_version, created_at,
        updated_at}``."""
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "tenant_id = :tenant AND begins_with(prompt, :prefix)",
            "ExpressionAttributeValues": {":tenant": {"S": tenant_id}, ":prefix": {"S": _HEAD}},
            "Limit": limit,
        }
        if next_token:
            query["ExclusiveStartKey"] = _decode_token(next_token, tenant_id)
        answer = self.client.query(**query)
        prompts = [
            {
                "name": item["name"]["S"],
                "latest_version": int(item["latest"]["N"]),
                "created_at": item["created_at"]["S"],
                "updated_at": item["updated_at"]["S"],
            }
            for item in answer["Items"]
        ]
        last = answer.get("LastEvaluatedKey")
        return prompts, _encode_token(last) if last else None


def _condition_failed(error: ClientError) -> bool:
    code = error.response["Error"]["Code"]
    if code == "ConditionalCheckFailedException":
        return True
    if code != "TransactionCanceledException":
        return False
    reasons = error.response.get("CancellationReasons") or []
    if reasons:
        return any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons)
    return "ConditionalCheckFailed" in error.response["Error"].get("Message", "")


def _encode_token(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def _decode_token(token: str, tenant_id: str) -> dict[str, Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
        if key["tenant_id"]["S"] != tenant_id or not key["prompt"]["S"].startswith(_HEAD):
            raise ValueError("not this tenant's prompt list")
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidInput("next_token: not a token from this list") from None
    return {"tenant_id": key["tenant_id"], "prompt": key["prompt"]}
