-- The most recent validation (not SKIPPED) of every source resource seen in the lookback window.
SELECT source_resource_arn, resource_type, engine, status, finished_at, restore_duration, data_gap_minutes,
       rpo_target_met, rto_target_met, cleanup_status, recovery_point_arn, validation_id, origin
FROM (
  SELECT *, row_number() OVER (
           PARTITION BY source_resource_arn ORDER BY from_iso8601_timestamp(finished_at) DESC) AS rn
  FROM ${table}
  WHERE dt >= date_format(current_date - interval '${lookback_days}' day, '%Y-%m-%d')
    AND status <> 'SKIPPED'
)
WHERE rn = 1
ORDER BY source_resource_arn
