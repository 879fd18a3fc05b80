"""The bench's side of the baseline: it plays SQS's event source mapping for the function runtime."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3

from bench import baseline
from bench.figures import Timing, scenario_figures
from bench.probe import Sampler
from bench.scenarios import Knobs, configure, worker_calls
from bench.stand import Stand
from bench.supply import Supply, enqueue


def run(stand: Stand, supply: Supply, knobs: Knobs, concurrency: int, timeout: float = 600) -> dict[str, Any]:
    configure(stand, knobs)
    total = len(supply.recovery_points)
    runtime = baseline.spawn(stand.env(), supply.resources.bucket, supply.restore_role_arn, concurrency)
    assert runtime.stdin is not None and runtime.stdout is not None
    results: list[dict[str, Any]] = []
    errors: list[str] = []

    def collect() -> None:
        assert runtime.stdout is not None
        for line in runtime.stdout:
            result = json.loads(line)
            (errors.append(result["error"]) if "error" in result else results.append(result))

    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    sampler = Sampler(runtime.pid)
    sqs = boto3.client("sqs")
    url = supply.resources.queue_url
    try:
        time.sleep(1.0)
        sampler.start()
        stand.moto_counts(reset=True)
        emulator_before = dict(stand.emulator_stats()["operations"])
        cpu_before = sampler.read().cpu_s
        t0 = time.time()
        enqueue(url, supply.central_vault, supply.recovery_points)
        deadline = time.monotonic() + timeout
        while len(results) + len(errors) < total and time.monotonic() < deadline:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            for message in messages:
                runtime.stdin.write(message["Body"].replace("\n", " ") + "\n")
            runtime.stdin.flush()
            if messages:
                sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
                )
        cpu_s = sampler.read().cpu_s - cpu_before
        calls = {
            k: v
            for k, v in worker_calls(stand, emulator_before).items()
            # the event source mapping's polling is AWS's work, not the function's
            if not k.startswith(("sqs:ReceiveMessage", "sqs:DeleteMessageBatch"))
        }
        peak = sampler.peak_rss(t0)
    finally:
        runtime.stdin.close()
        runtime.terminate()
        runtime.wait(60)
        sampler.stop()
    timings = [Timing(**result) for result in results]
    figures = scenario_figures(timings, t0=t0, concurrency=total, cpu_s=cpu_s, peak_rss_bytes=peak, calls=calls)
    figures["errors"] = errors[:5]
    figures["knobs"] = dict(knobs.__dict__)
    return figures
