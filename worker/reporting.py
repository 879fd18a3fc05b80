"""Ship a finished record everywhere it belongs. S3 first: it is the durable copy the ack waits for."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from worker.emf import emf_document
from worker.evidence.chain import EvidenceChain
from worker.metrics import Metrics
from worker.model import PASSED, RESTORE_FAILED
from worker.ports import JsonSink, JsonStore, ValidationResults


def validation_message(record: dict[str, Any]) -> str:
    """The short message AWS Backup shows next to the verdict: which checks did not pass, else the reason."""
    text = f"Backup Validator: {record['status']}"
    unpassed = [str(check["name"]) for check in record.get("checks", []) if check.get("status") != PASSED]
    if unpassed:
        text += f"; not passed: {', '.join(unpassed)}"
    elif record.get("reason"):
        text += f"; {record['reason']}"
    return text[:1000]


class Reporter:
    def __init__(
        self,
        store: JsonStore,
        sink: JsonSink | None,
        backup: ValidationResults,
        metrics: Metrics,
        log: Any,
        chain: EvidenceChain | None = None,
    ) -> None:
        self._store = store
        self._sink = sink
        self._backup = backup
        self._metrics = metrics
        self._log = log
        self._chain = chain

    async def publish(self, key: str, record: dict[str, Any], from_restore_testing: bool) -> None:
        """Raises only when the durable copy could not be written (then the message must not be acked)."""
        if self._chain is None:
            await self._store.put_json(key, record)
        else:  # sealed (digest + hash chain, docs/evidence.md); None: already linked by an earlier delivery
            record = await self._chain.append(key, record, self._store.put_json) or record
        self.observe(record)
        if self._sink is not None:
            try:
                await self._sink.put(emf_document(record, int(time.time() * 1000)))
            except Exception as exc:  # noqa: BLE001 - S3 holds the record; a lost log line is not worth a redo
                self._log.warning("report.logs_failed", error=type(exc).__name__)
        if from_restore_testing and record.get("restore_job_id"):
            await self._put_validation_result(record)

    async def _put_validation_result(self, record: dict[str, Any]) -> None:
        status = "SUCCESSFUL" if record["status"] == PASSED else "FAILED"
        try:
            await self._backup.put_validation_result(record["restore_job_id"], status, validation_message(record))
        except Exception as exc:  # noqa: BLE001 - immutable once set (or TIMED_OUT): the S3 record stands
            self._log.warning(
                "report.validation_result_failed",
                restore_job_id=record["restore_job_id"],
                error=type(exc).__name__,
                detail=str(exc)[:200],
            )

    def observe(self, record: dict[str, Any]) -> None:
        resource_type = str(record.get("resource_type") or "unknown")
        engine = str(record.get("engine") or "unknown")
        status = str(record["status"])
        self._metrics.validations.labels(resource_type, engine, status).inc()
        if status != RESTORE_FAILED and isinstance(record.get("restore_duration"), int | float):
            # A failed restore's duration is how long it took to fail, not a restore time.
            self._metrics.restore_duration.labels(resource_type, engine).observe(record["restore_duration"] * 60)
        if isinstance(record.get("data_gap_minutes"), int | float):
            self._metrics.data_gap.labels(resource_type, engine).observe(max(0.0, record["data_gap_minutes"] * 60))
        for check in record.get("checks", []):
            self._metrics.checks.labels(check["kind"], check["status"]).inc()
            self._metrics.check_duration.labels(check["kind"]).observe(check.get("duration_seconds") or 0.0)
        if status == PASSED:
            self._metrics.last_success.labels(resource_type, engine).set(datetime.now(UTC).timestamp())
        if record.get("cleanup_status") == "FAILED":
            self._metrics.cleanup_failures.labels(resource_type).inc()
        for target in ("rpo", "rto"):
            if record.get(f"{target}_target_met") is False:
                self._metrics.target_misses.labels(target).inc()
