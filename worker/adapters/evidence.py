"""Tamper evidence's AWS side: records and manifests in S3, chain heads in the ledger, signatures by KMS.

Ledger items (same table as worker/adapters/ledger.py):
  chain#<source arn>   head_seq, head_digest: the newest linked record of the source's chain. No TTL: a chain
                       that expired would restart at 1 and look like a fork.
  rp#<arn>             + chain_seq, chain_digest once the recovery point's record is linked

Like every adapter, each class raises the worker's error tree (`translate_errors`), not botocore's: a throttled
or failing call is `ServiceUnavailable`, a refused one (access denied, a disabled key) `RequestRefused`.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from worker.adapters.aws import error_code, translate_errors
from worker.evidence.chain import ChainHead


@translate_errors
class S3Evidence:
    """Reads records and manifests, writes manifests. Records themselves are written by ResultStore."""

    def __init__(self, s3_client: Any, bucket: str) -> None:
        self._s3 = s3_client
        self.bucket = bucket

    async def keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        paginator = self._s3.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            found.extend(str(item["Key"]) for item in page.get("Contents", []) if str(item["Key"]).endswith(".json"))
        return found

    async def get_json(self, key: str) -> dict[str, Any] | None:
        try:
            response = await self._s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in {"NoSuchKey", "404"}:
                return None
            raise
        async with response["Body"] as body:
            raw = await body.read()
        try:
            document = json.loads(raw)
        except ValueError:
            return {"_unparseable": raw[:200].decode(errors="replace")}
        return document if isinstance(document, dict) else {"_unparseable": str(document)[:200]}

    async def put_json(self, key: str, document: dict[str, Any]) -> None:
        body = json.dumps(document, separators=(",", ":"), default=str).encode()
        await self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")


@translate_errors
class ChainLedger:
    def __init__(self, dynamodb_client: Any, table: str) -> None:
        self._db = dynamodb_client
        self.table = table

    async def _get(self, pk: str, *attributes: str) -> dict[str, Any] | None:
        response = await self._db.get_item(
            TableName=self.table,
            Key={"pk": {"S": pk}},
            ConsistentRead=True,
            ProjectionExpression=", ".join(attributes),
        )
        item = response.get("Item")
        return dict(item) if item else None

    async def head(self, chain: str) -> ChainHead | None:
        item = await self._get(f"chain#{chain}", "head_seq", "head_digest")
        if not item or "head_seq" not in item:
            return None
        return ChainHead(int(item["head_seq"]["N"]), str(item["head_digest"]["S"]))

    async def head_seq(self, chain: str) -> int | None:
        head = await self.head(chain)
        return head.seq if head else None

    async def linked(self, recovery_point_arn: str) -> ChainHead | None:
        item = await self._get(f"rp#{recovery_point_arn}", "chain_seq", "chain_digest")
        if not item or "chain_seq" not in item:
            return None
        return ChainHead(int(item["chain_seq"]["N"]), str(item["chain_digest"]["S"]))

    async def link(self, chain: str, recovery_point_arn: str, new: ChainHead, expected: ChainHead | None) -> bool:
        """Move the head from `expected` to `new` and mark the recovery point linked, in one transaction."""
        if expected is None:
            condition, values = "attribute_not_exists(head_seq)", {}
        else:
            condition = "head_seq = :old_seq AND head_digest = :old_digest"
            values = {":old_seq": {"N": str(expected.seq)}, ":old_digest": {"S": expected.digest}}
        link_values = {":seq": {"N": str(new.seq)}, ":digest": {"S": new.digest}}
        try:
            await self._db.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": {"pk": {"S": f"chain#{chain}"}},
                            "UpdateExpression": "SET head_seq = :seq, head_digest = :digest",
                            "ConditionExpression": condition,
                            "ExpressionAttributeValues": {**values, **link_values},
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": {"pk": {"S": f"rp#{recovery_point_arn}"}},
                            "UpdateExpression": "SET chain_seq = :seq, chain_digest = :digest",
                            "ConditionExpression": "attribute_not_exists(chain_seq)",
                            "ExpressionAttributeValues": link_values,
                        }
                    },
                ]
            )
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                return False
            raise
        return True


@translate_errors
class KmsSigner:
    """An asymmetric KMS key (key usage SIGN_VERIFY); RAW messages (what is signed is short, see manifest.py)."""

    def __init__(self, kms_client: Any, key_id: str, algorithm: str) -> None:
        self._kms = kms_client
        self.key_id = key_id
        self.algorithm = algorithm

    async def sign(self, message: bytes) -> bytes:
        response = await self._kms.sign(
            KeyId=self.key_id, Message=message, MessageType="RAW", SigningAlgorithm=self.algorithm
        )
        return bytes(response["Signature"])

    async def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            response = await self._kms.verify(
                KeyId=self.key_id,
                Message=message,
                MessageType="RAW",
                Signature=signature,
                SigningAlgorithm=self.algorithm,
            )
        except ClientError as exc:
            if error_code(exc) == "KMSInvalidSignatureException":
                return False
            raise
        return bool(response.get("SignatureValid"))
