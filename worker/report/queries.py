"""The report's SQL (DuckDB's dialect) over the `validations` table of worker/report/schema.py.

Parameters: $since and $until (timestamps). A verdict is counted by when its validation finished; SKIPPED
records are not verdicts. "Last" figures look at every record read (the coverage needs the last PASSED even when
it is older than the window); counts and percentiles look at the window only. A failed restore job's duration
is not a recovery time: RTO figures (`rto`) leave RESTORE_FAILED out, and a failed restore missed its RTO target
(`rto_met`), whatever the record's own `rto_target_met` says.
"""

from __future__ import annotations

VERDICTS = """
    verdicts AS (
        SELECT *, CAST(finished_at AS TIMESTAMPTZ) AS finished,
               CASE WHEN status <> 'RESTORE_FAILED' THEN rto_minutes END AS rto,
               CASE WHEN status = 'RESTORE_FAILED' THEN false ELSE rto_target_met END AS rto_met
        FROM validations
        WHERE status <> 'SKIPPED' AND finished_at IS NOT NULL AND CAST(finished_at AS TIMESTAMPTZ) <= $until
    ),
    windowed AS (SELECT * FROM verdicts WHERE finished >= $since)"""

# Why a validation did not pass, in one line: its reason, else its checks that did not pass.
WHY = (
    "coalesce(reason, array_to_string(list_transform(list_filter(checks, c -> c.status <> 'PASSED'), "
    "c -> c.name || ' ' || c.status || ': ' || coalesce(c.message, '')), '; '))"
)

PER_RESOURCE = f"""
WITH {VERDICTS},
    last AS (
        SELECT source_resource_arn,
               max_by(resource_type, finished) AS resource_type, max_by(engine, finished) AS engine,
               max_by(account_id, finished) AS account_id, max_by(region, finished) AS region,
               max_by(selection, finished) AS selection,
               max(finished) AS last_at, max_by(status, finished) AS last_status,
               max_by(CASE WHEN status <> 'PASSED' THEN {WHY} END, finished) AS last_reason,
               max(finished) FILTER (WHERE status = 'PASSED') AS last_passed_at,
               max_by(rto_target_minutes, finished) AS rto_target_minutes,
               max_by(rpo_target_minutes, finished) AS rpo_target_minutes
        FROM verdicts GROUP BY source_resource_arn
    ),
    stats AS (
        SELECT source_resource_arn, count(*) AS runs, count(*) FILTER (WHERE status = 'PASSED') AS passed,
               quantile_cont(rto, 0.5) AS rto_p50, quantile_cont(rto, 0.95) AS rto_p95,
               quantile_cont(data_gap_minutes, 0.5) AS gap_p50, quantile_cont(data_gap_minutes, 0.95) AS gap_p95,
               count(*) FILTER (WHERE rto_met = false) AS rto_misses,
               count(*) FILTER (WHERE rpo_target_met = false) AS rpo_misses
        FROM windowed GROUP BY source_resource_arn
    )
SELECT last.*, coalesce(runs, 0) AS runs, coalesce(passed, 0) AS passed, rto_p50, rto_p95, gap_p50, gap_p95,
       coalesce(rto_misses, 0) AS rto_misses, coalesce(rpo_misses, 0) AS rpo_misses
FROM last LEFT JOIN stats USING (source_resource_arn)
ORDER BY source_resource_arn
"""

PER_GROUP = f"""
WITH {VERDICTS}
SELECT CASE WHEN grouping(selection) = 0 THEN 'selection' WHEN grouping(account_id) = 0 THEN 'account'
            ELSE 'engine' END AS dimension,
       coalesce(CASE WHEN grouping(selection) = 0 THEN selection WHEN grouping(account_id) = 0 THEN account_id
                     ELSE engine END, '(none)') AS value,
       count(*) AS runs, count(*) FILTER (WHERE status = 'PASSED') AS passed,
       quantile_cont(rto, 0.5) AS rto_p50, quantile_cont(rto, 0.95) AS rto_p95,
       quantile_cont(data_gap_minutes, 0.5) AS gap_p50, quantile_cont(data_gap_minutes, 0.95) AS gap_p95
FROM windowed
GROUP BY GROUPING SETS ((selection), (account_id), (engine))
ORDER BY dimension, value
"""

FAILURES = f"""
WITH {VERDICTS}
SELECT finished, source_resource_arn, selection, status, {WHY} AS why, validation_id, recovery_point_arn,
       restore_job_id, origin, restore_testing_plan_arn
FROM windowed WHERE status IN ('FAILED', 'RESTORE_FAILED', 'ERROR')
ORDER BY finished DESC, source_resource_arn
"""

VALIDATIONS = f"""
WITH {VERDICTS}
SELECT finished, source_resource_arn, selection, engine, account_id, status,
       CASE WHEN status <> 'PASSED' THEN {WHY} END AS why,
       rto AS rto_minutes, rto_target_minutes, rto_met AS rto_target_met,
       data_gap_minutes, rpo_target_minutes, rpo_target_met,
       cleanup_status, validation_id, recovery_point_arn, restore_job_id, origin, restore_testing_plan_arn
FROM windowed ORDER BY finished, source_resource_arn
"""

DAILY = f"""
WITH {VERDICTS}
SELECT CAST(date_trunc('day', finished) AS DATE) AS day, count(*) AS runs,
       count(*) FILTER (WHERE status = 'PASSED') AS passed
FROM windowed GROUP BY 1 ORDER BY 1
"""

RTO_POINTS = f"""
WITH {VERDICTS}
SELECT finished, source_resource_arn, rto AS rto_minutes FROM windowed WHERE rto IS NOT NULL
ORDER BY source_resource_arn, finished
"""

PASS_TIMES = f"""
WITH {VERDICTS}
SELECT source_resource_arn, finished FROM verdicts WHERE status = 'PASSED' ORDER BY source_resource_arn, finished
"""
