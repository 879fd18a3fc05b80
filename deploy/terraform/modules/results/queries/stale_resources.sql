-- Source resources seen in the lookback window whose last PASSED validation is older than the stale limit (or
-- that never passed). Resources never validated at all are the reconciler's coverage metric.
WITH seen AS (
  SELECT source_resource_arn,
         max(from_iso8601_timestamp(finished_at)) AS last_seen_at,
         max_by(status, from_iso8601_timestamp(finished_at)) AS last_status,
         max(CASE WHEN status = 'PASSED' THEN from_iso8601_timestamp(finished_at) END) AS last_passed_at
  FROM ${table}
  WHERE dt >= date_format(current_date - interval '${lookback_days}' day, '%Y-%m-%d')
    AND status <> 'SKIPPED'
  GROUP BY source_resource_arn
)
SELECT source_resource_arn, last_status, last_seen_at, last_passed_at
FROM seen
WHERE last_passed_at IS NULL
   OR last_passed_at < current_timestamp - interval '${stale_after_days}' day
ORDER BY last_passed_at ASC NULLS FIRST
